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
  /** Resolves once `bytes` are somewhere in what the node sent; rejects after `timeoutMs` or when the node hangs up first. */
  arrived(bytes: Buffer, timeoutMs?: number): Promise<void>;
  /** Whether the node closes the connection within `timeoutMs`. */
  closedWithin(timeoutMs: number): Promise<boolean>;
  write(bytes: Buffer): boolean;
  close(): void;
}

/**
 * Sends a ping and waits for its pong. bcoin reads a peer's messages in
 * order, one at a time, so by then the node has read everything sent before
 * (an extension's handler may still be finishing).
 */
export async function roundTrip(p: RawPeer, network: NetworkName, timeoutMs = 10_000): Promise<void> {
  const nonce = randomBytes(8);
  p.write(frame(network, 'ping', nonce));
  await p.arrived(nonce, timeoutMs);
}

/** A connection to the node on 127.0.0.1:`port`, from `localAddress` (any of 127/8 on Linux) if given. */
export async function rawPeer(port: number, localAddress?: string): Promise<RawPeer> {
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  let closed = false;
  const chunks: Buffer[] = [];
  socket.on('data', (d) => chunks.push(d));
  socket.on('error', () => {});
  const closedP = new Promise<void>((resolve) => socket.on('close', () => { closed = true; resolve(); }));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const received = () => Buffer.concat(chunks);
  return {
    socket,
    closed: closedP,
    isClosed: () => closed,
    received,
    arrived: (bytes, timeoutMs = 10_000) => new Promise<void>((resolve, reject) => {
      let settled = false;
      const done = (err?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.off('data', check);
        socket.off('close', gone);
        if (err) reject(err);
        else resolve();
      };
      const check = () => { if (received().includes(bytes)) done(); };
      const gone = () => done(new Error(`the node hung up before sending ${bytes.toString('hex')}`));
      const timer = setTimeout(() => done(new Error(`nothing like ${bytes.toString('hex')} within ${timeoutMs} ms`)), timeoutMs);
      socket.on('data', check);
      socket.on('close', gone);
      check();
      if (closed) gone();
    }),
    closedWithin: async (timeoutMs) => {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closedP, new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs); })]);
      clearTimeout(timer);
      return closed;
    },
    write: (bytes) => (closed ? false : socket.write(bytes)),
    close: () => socket.destroy(),
  };
}
