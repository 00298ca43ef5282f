/**
 * The body shared by ccinv and ccgetoffer: a version byte and a list of
 * 32-byte offer hashes. These routing messages are not signed: they assert
 * nothing, and what they lead to (a ccoffer) is verified on arrival.
 */
import { malformed } from './errors.js';
import { VERSION, readVersion, type Packet, type PacketType } from './packet.js';
import { Reader, Writer } from './wire.js';

/** Hashes per message; bcoin's inv allows 50,000, offers are far fewer. */
export const MAX_HASHES = 1000;
export const MAX_HASHLIST_SIZE = 1 + 2 + 32 * MAX_HASHES;

export abstract class HashListPacket implements Packet {
  abstract readonly cmd: PacketType;
  hashes: Uint8Array[];

  constructor(hashes: Uint8Array[]) {
    if (hashes.length > MAX_HASHES) throw new RangeError(`at most ${MAX_HASHES} hashes, got ${hashes.length}`);
    for (const h of hashes) if (h.length !== 32) throw new RangeError('every hash must be 32 bytes');
    this.hashes = hashes;
  }

  getSize(): number {
    return 1 + 2 + 32 * this.hashes.length;
  }

  encode(): Buffer {
    const w = new Writer(this.getSize()).u8(VERSION).u16(this.hashes.length);
    for (const h of this.hashes) w.bytes(h);
    return w.render();
  }

  protected static readHashes(data: Uint8Array, cmd: PacketType): Uint8Array[] {
    const r = new Reader(data);
    readVersion(r, cmd);
    const count = r.u16('count');
    if (count === 0 || count > MAX_HASHES) throw malformed(`${cmd}: count must be 1..${MAX_HASHES}, got ${count}`);
    const hashes: Uint8Array[] = [];
    for (let i = 0; i < count; i++) hashes.push(r.bytes(32, 'hash'));
    r.end(cmd);
    return hashes;
  }
}
