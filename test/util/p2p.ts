/**
 * A raw P2P client for tests: frames bytes exactly as a Bitcoin peer does
 * (magic, command, length, checksum, payload) so a test can send the node
 * anything, well-formed or not.
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { createRequire } from 'node:module';
import { getNetwork, type NetworkName } from '../../src/lib/chain/networks.js';

const bcoinRequire = createRequire(createRequire(import.meta.url).resolve('bcoin'));
const packets = bcoinRequire('./net/packets.js');

export function frame(network: NetworkName, cmd: string, payload: Buffer, opts: { checksum?: Buffer } = {}): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(getNetwork(network).magic, 0);
  header.write(cmd, 4, 12, 'ascii');
  header.writeUInt32LE(payload.length, 16);
  const checksum = opts.checksum ?? createHash('sha256').update(createHash('sha256').update(payload).digest()).digest().subarray(0, 4);
  checksum.copy(header, 20);
  return Buffer.concat([header, payload]);
}

/** A version message that passes bcoin's handshake checks. */
export function versionPayload(height = 0): Buffer {
  const v = new packets.VersionPacket({ height, nonce: randomBytes(8), agent: '/cc-test:0.1/' });
  return v.toRaw();
}

export interface RawPeer {
  socket: Socket;
  closed: Promise<void>;
  isClosed(): boolean;
  received(): Buffer;
  write(bytes: Buffer): boolean;
  close(): void;
}

export async function rawPeer(port: number): Promise<RawPeer> {
  const socket = connect(port, '127.0.0.1');
  let closed = false;
  const chunks: Buffer[] = [];
  socket.on('data', (d) => chunks.push(d));
  socket.on('error', () => {});
  const closedP = new Promise<void>((resolve) => socket.on('close', () => { closed = true; resolve(); }));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return {
    socket,
    closed: closedP,
    isClosed: () => closed,
    received: () => Buffer.concat(chunks),
    write: (bytes) => (closed ? false : socket.write(bytes)),
    close: () => socket.destroy(),
  };
}
