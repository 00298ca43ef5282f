/**
 * Bounded binary reader and writer for CloudCoin's wire formats.
 *
 * Every integer is little-endian like Bitcoin's. 64-bit amounts are read as
 * BigInt and must fit in a JavaScript safe integer (2^53 - 1), which covers
 * every amount of coins and every byte count we carry. A read past the end
 * throws a `malformed` ProtocolError, never a RangeError, so decoders can
 * feed untrusted bytes through without a try/catch of their own.
 */
import { malformed } from './errors.js';

export class Writer {
  private readonly buf: Buffer;
  private off = 0;

  constructor(size: number) {
    this.buf = Buffer.alloc(size);
  }

  u8(n: number): this {
    this.off = this.buf.writeUInt8(n, this.off);
    return this;
  }

  u16(n: number): this {
    this.off = this.buf.writeUInt16LE(n, this.off);
    return this;
  }

  u32(n: number): this {
    this.off = this.buf.writeUInt32LE(n, this.off);
    return this;
  }

  u64(n: number): this {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`u64 field must be a safe non-negative integer, got ${n}`);
    this.off = this.buf.writeBigUInt64LE(BigInt(n), this.off);
    return this;
  }

  bytes(data: Uint8Array): this {
    this.buf.set(data, this.off);
    this.off += data.length;
    return this;
  }

  /** A u8 length followed by the bytes (at most 255). */
  bytes8(data: Uint8Array): this {
    if (data.length > 0xff) throw new RangeError(`field longer than 255 bytes: ${data.length}`);
    return this.u8(data.length).bytes(data);
  }

  /** A u16 length followed by the bytes (at most 65535). */
  bytes16(data: Uint8Array): this {
    if (data.length > 0xffff) throw new RangeError(`field longer than 65535 bytes: ${data.length}`);
    return this.u16(data.length).bytes(data);
  }

  /** The written bytes; the size given to the constructor must have been exact. */
  render(): Buffer {
    if (this.off !== this.buf.length) throw new Error(`writer size mismatch: wrote ${this.off} of ${this.buf.length}`);
    return this.buf;
  }
}

export class Reader {
  private readonly buf: Buffer;
  private off = 0;

  constructor(data: Uint8Array) {
    this.buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  }

  get offset(): number {
    return this.off;
  }

  get left(): number {
    return this.buf.length - this.off;
  }

  private _need(n: number, what: string): void {
    if (this.left < n) throw malformed(`truncated ${what}: need ${n} bytes, have ${this.left}`);
  }

  u8(what = 'u8'): number {
    this._need(1, what);
    return this.buf[this.off++];
  }

  u16(what = 'u16'): number {
    this._need(2, what);
    const n = this.buf.readUInt16LE(this.off);
    this.off += 2;
    return n;
  }

  u32(what = 'u32'): number {
    this._need(4, what);
    const n = this.buf.readUInt32LE(this.off);
    this.off += 4;
    return n;
  }

  u64(what = 'u64'): number {
    this._need(8, what);
    const n = this.buf.readBigUInt64LE(this.off);
    this.off += 8;
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(`${what} exceeds 2^53 - 1`);
    return Number(n);
  }

  /** A copy of the next `n` bytes, so decoded packets never alias the input. */
  bytes(n: number, what = 'bytes'): Buffer {
    this._need(n, what);
    const out = Buffer.from(this.buf.subarray(this.off, this.off + n));
    this.off += n;
    return out;
  }

  bytes8(max: number, what = 'bytes'): Buffer {
    const n = this.u8(`${what} length`);
    if (n > max) throw malformed(`${what} longer than ${max} bytes: ${n}`);
    return this.bytes(n, what);
  }

  bytes16(max: number, what = 'bytes'): Buffer {
    const n = this.u16(`${what} length`);
    if (n > max) throw malformed(`${what} longer than ${max} bytes: ${n}`);
    return this.bytes(n, what);
  }

  /** The bytes from `start` to the current offset (what a signature covers). */
  since(start: number): Buffer {
    return Buffer.from(this.buf.subarray(start, this.off));
  }

  /** Decoders end with this: trailing bytes would make two encodings of one message. */
  end(what: string): void {
    if (this.left !== 0) throw malformed(`${this.left} trailing bytes after ${what}`);
  }
}
