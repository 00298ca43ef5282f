/**
 * Content-defined chunking with FastCDC (Xia et al., USENIX ATC 2016): a gear
 * rolling hash, cut-point skipping below the minimum size and "normalized
 * chunking" (a stricter mask before the average size, a looser one after it), so
 * an insertion moves only the boundaries near it and unchanged data chunks the same.
 * https://www.usenix.org/conference/atc16/technical-sessions/presentation/xia
 *
 * Sizes are the caller's (store.ts fixes them); the maximum must stay below 4 MiB
 * minus the sector overhead, so any chunk fits in one sector (see sector.ts). Masks test the top bits of the hash,
 * which depend on the last 32 bytes, not the low bits, which see only the last few.
 * The gear table is derived from a per-repository key: boundaries then reveal
 * nothing that could be matched against chunks of known files.
 */
import { createHash } from 'node:crypto';

export interface ChunkerParams {
  minSize: number;
  avgBits: number;
  maxSize: number;
}

/** Read up to `length` bytes into `buf` at `offset`; 0 means end of input. */
export type ReadFn = (buf: Uint8Array, offset: number, length: number) => Promise<number>;

function _topMask(bits: number): number {
  return ((2 ** bits - 1) * 2 ** (32 - bits)) | 0;
}

/** 256 pseudo-random 32-bit words from `seed`: gear[i] = first 4 bytes of sha256(seed || i). */
export function gearTable(seed: Uint8Array): Int32Array {
  if (!(seed instanceof Uint8Array) || seed.length < 16) throw new RangeError('gear seed must be at least 16 bytes');
  const gear = new Int32Array(256);
  for (let i = 0; i < 256; i++) gear[i] = createHash('sha256').update(seed).update(Uint8Array.of(i)).digest().readInt32LE(0);
  return gear;
}

/**
 * A streaming chunker. One instance reuses one buffer of 2 x maxSize for every
 * input, so memory does not grow with input size.
 * @example
 * const c = new Chunker(gearTable(keys.gear), params);
 * for await (const chunk of c.chunks((b, o, l) => fh.read(b, o, l).then((r) => r.bytesRead))) use(chunk);
 */
export class Chunker {
  readonly params: ChunkerParams;
  private readonly _gear: Int32Array;
  private readonly _maskS: number;
  private readonly _maskL: number;
  private readonly _avg: number;
  private _buf: Buffer | null = null;

  constructor(gear: Int32Array, params: ChunkerParams) {
    if (!(gear instanceof Int32Array) || gear.length !== 256) throw new TypeError('gear must be an Int32Array of 256 words');
    const { minSize, avgBits, maxSize } = params;
    if (!Number.isInteger(avgBits) || avgBits < 8 || avgBits > 28) throw new RangeError(`avgBits must be in [8, 28], got ${avgBits}`);
    if (!Number.isInteger(minSize) || minSize < 64 || minSize >= 2 ** avgBits) throw new RangeError(`minSize must be in [64, 2^avgBits), got ${minSize}`);
    if (!Number.isInteger(maxSize) || maxSize <= 2 ** avgBits) throw new RangeError(`maxSize must exceed 2^avgBits, got ${maxSize}`);
    this.params = { minSize, avgBits, maxSize };
    this._gear = gear;
    this._avg = 2 ** avgBits;
    // Normalization level 2, as in the paper: two bits harder before the average, two easier after.
    this._maskS = _topMask(avgBits + 2);
    this._maskL = _topMask(avgBits - 2);
  }

  /** Length of the chunk starting at `buf[start]`, given `available` bytes (all the rest of the input, or at least maxSize). */
  cut(buf: Uint8Array, start: number, available: number): number {
    const { minSize, maxSize } = this.params;
    if (available <= minSize) return available;
    // Masks and table in locals and an absolute index: with fields read and an
    // offset added in the loop, V8's code for it ran at half this speed.
    const gear = this._gear;
    const maskS = this._maskS;
    const maskL = this._maskL;
    const end = start + Math.min(available, maxSize);
    const barrier = start + Math.min(this._avg, end - start);
    let hash = 0;
    let p = start + minSize;
    for (; p < barrier; p++) {
      hash = ((hash << 1) + gear[buf[p]]) | 0;
      if ((hash & maskS) === 0) return p - start + 1;
    }
    for (; p < end; p++) {
      hash = ((hash << 1) + gear[buf[p]]) | 0;
      if ((hash & maskL) === 0) return p - start + 1;
    }
    return end - start;
  }

  /**
   * Yields the chunks of the input `read` produces. Each chunk is a view into the
   * chunker's buffer, valid only until the next one is requested: copy what you keep.
   */
  async *chunks(read: ReadFn): AsyncGenerator<Buffer> {
    const max = this.params.maxSize;
    const cap = 2 * max;
    const buf = (this._buf ??= Buffer.allocUnsafe(cap));
    let start = 0;
    let end = 0;
    let eof = false;
    for (;;) {
      while (!eof && end - start < max) {
        if (end === cap) {
          buf.copy(buf, 0, start, end);
          end -= start;
          start = 0;
        }
        const n = await read(buf, end, cap - end);
        if (n === 0) eof = true;
        end += n;
      }
      if (end === start) return;
      const len = this.cut(buf, start, end - start);
      yield buf.subarray(start, start + len);
      start += len;
    }
  }
}
