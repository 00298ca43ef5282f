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
 *
 * The gear loop runs in WebAssembly (gear.wat), about four times the speed of
 * the same loop in JavaScript, which stays for runtimes without WebAssembly
 * (`node --jitless`). Streamed input is read straight into the module's
 * memory; bytes the caller holds elsewhere are copied in a window at a time.
 */
import { createHash } from 'node:crypto';
import { GEAR_WASM } from './gear-wasm.js';

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

// tsconfig's lib (ES2023, no DOM) does not declare the WebAssembly global that Node provides.
const _wasm = (globalThis as any).WebAssembly;

interface _GearExports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  hash: { value: number };
  cut(p: number, barrier: number, end: number, hash: number, maskS: number, maskL: number): number;
}

/** The compiled module, undefined until first used, null where the runtime has no WebAssembly. */
let _module: unknown;

function _instance(): _GearExports | null {
  if (_module === undefined) {
    try {
      _module = new _wasm.Module(Buffer.from(GEAR_WASM, 'base64'));
    } catch {
      _module = null;
    }
  }
  return _module === null ? null : (new _wasm.Instance(_module).exports as _GearExports);
}

/** Module memory: the gear table, then the window for bytes held elsewhere, then the stream buffer. */
const _TABLE_BYTES = 1024;
const _WINDOW = 64 * 1024;
const _STREAM_AT = _TABLE_BYTES + _WINDOW;

/** Grows the module's memory to at least `bytes`. */
function _reserve(w: _GearExports, bytes: number): void {
  const have = w.memory.buffer.byteLength;
  if (have < bytes) w.memory.grow(Math.ceil((bytes - have) / 65536));
}

export interface ChunkerOptions {
  /** 'js' runs the JavaScript loop even where WebAssembly is available (to compare the two); default 'wasm' where available. */
  engine?: 'wasm' | 'js';
}

/**
 * A streaming chunker. One instance reuses one buffer for every input, so
 * memory does not grow with input size.
 * @example
 * const c = new Chunker(gearTable(keys.gear), params);
 * const read = (b, o, l) => fh.read(b, o, l).then((r) => r.bytesRead);
 * for await (const batch of c.batches(read, 4 << 20)) use(batch);
 */
export class Chunker {
  readonly params: ChunkerParams;
  readonly engine: 'wasm' | 'js';
  private readonly _gear: Int32Array;
  private readonly _maskS: number;
  private readonly _maskL: number;
  private readonly _avg: number;
  private readonly _w: _GearExports | null;
  private _buf: Buffer | null = null;

  constructor(gear: Int32Array, params: ChunkerParams, options: ChunkerOptions = {}) {
    if (!(gear instanceof Int32Array) || gear.length !== 256) throw new TypeError('gear must be an Int32Array of 256 words');
    const { minSize, avgBits, maxSize } = params;
    if (!Number.isInteger(avgBits) || avgBits < 8 || avgBits > 28) throw new RangeError(`avgBits must be in [8, 28], got ${avgBits}`);
    if (!Number.isInteger(minSize) || minSize < 64 || minSize >= 2 ** avgBits) throw new RangeError(`minSize must be in [64, 2^avgBits), got ${minSize}`);
    if (!Number.isInteger(maxSize) || maxSize <= 2 ** avgBits) throw new RangeError(`maxSize must exceed 2^avgBits, got ${maxSize}`);
    if (options.engine !== undefined && options.engine !== 'wasm' && options.engine !== 'js') throw new RangeError(`engine must be 'wasm' or 'js'`);
    this.params = { minSize, avgBits, maxSize };
    this._gear = gear;
    this._avg = 2 ** avgBits;
    // Normalization level 2, as in the paper: two bits harder before the average, two easier after.
    this._maskS = _topMask(avgBits + 2);
    this._maskL = _topMask(avgBits - 2);
    this._w = options.engine === 'js' ? null : _instance();
    this.engine = this._w ? 'wasm' : 'js';
    if (this._w) {
      _reserve(this._w, _STREAM_AT);
      new Int32Array(this._w.memory.buffer, 0, 256).set(gear);
    }
  }

  /** Length of the chunk starting at `buf[start]`, given `available` bytes (all the rest of the input, or at least maxSize). */
  cut(buf: Uint8Array, start: number, available: number): number {
    const { minSize, maxSize } = this.params;
    if (available <= minSize) return available;
    const end = start + Math.min(available, maxSize);
    const barrier = start + Math.min(this._avg, end - start);
    if (!this._w) return this._cutJs(buf, start, barrier, end);
    if (buf.buffer === this._w.memory.buffer) {
      const at = buf.byteOffset;
      const p = this._w.cut(at + start + minSize, at + barrier, at + end, 0, this._maskS, this._maskL);
      return (p === 0 ? end + at : p) - at - start;
    }
    return this._cutWindowed(buf, start, barrier, end);
  }

  private _cutJs(buf: Uint8Array, start: number, barrier: number, end: number): number {
    // Masks and table in locals and an absolute index: with fields read and an
    // offset added in the loop, V8's code for it ran at half this speed.
    const gear = this._gear;
    const maskS = this._maskS;
    const maskL = this._maskL;
    let hash = 0;
    let p = start + this.params.minSize;
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

  /** The wasm loop over bytes outside its memory, copied in a window at a time (most cuts come within two). */
  private _cutWindowed(buf: Uint8Array, start: number, barrier: number, end: number): number {
    const w = this._w!;
    const mem = new Uint8Array(w.memory.buffer);
    let hash = 0;
    for (let p = start + this.params.minSize; p < end; p += _WINDOW) {
      const len = Math.min(_WINDOW, end - p);
      mem.set(buf.subarray(p, p + len), _TABLE_BYTES);
      const strictEnd = _TABLE_BYTES + Math.max(0, Math.min(barrier - p, len));
      const q = w.cut(_TABLE_BYTES, strictEnd, _TABLE_BYTES + len, hash, this._maskS, this._maskL);
      if (q !== 0) return p + q - _TABLE_BYTES - start;
      hash = w.hash.value;
    }
    return end - start;
  }

  /** The stream buffer, of at least `size` bytes: in the module's memory when there is one. */
  private _stream(size: number): Buffer {
    if (this._buf && this._buf.length >= size) return this._buf;
    if (!this._w) return (this._buf = Buffer.allocUnsafe(size));
    // Growing detaches the old views: only done here, before any chunk of this input is handed out.
    _reserve(this._w, _STREAM_AT + size);
    return (this._buf = Buffer.from(this._w.memory.buffer, _STREAM_AT, size));
  }

  /**
   * Yields the chunks of the input `read` produces, in batches of at least
   * `minBytes` (the last may be smaller). Each batch's chunks are views into
   * the chunker's buffer, valid only until the next batch is requested: copy
   * what you keep. Boundaries do not depend on `minBytes` or on how much each
   * read returns.
   */
  async *batches(read: ReadFn, minBytes: number): AsyncGenerator<Buffer[]> {
    if (!Number.isSafeInteger(minBytes) || minBytes <= 0) throw new RangeError(`minBytes must be a positive integer, got ${minBytes}`);
    const max = this.params.maxSize;
    // What is left after a batch is under maxSize: the next fill adds at least minBytes + maxSize.
    const cap = minBytes + 2 * max;
    const buf = this._stream(cap);
    let start = 0;
    let end = 0;
    let eof = false;
    for (;;) {
      while (!eof && end < cap) {
        const n = await read(buf, end, cap - end);
        if (n === 0) eof = true;
        end += n;
      }
      const batch: Buffer[] = [];
      // cut() sees at least maxSize bytes, or all the rest of the input.
      while (end - start >= max || (eof && end > start)) {
        const len = this.cut(buf, start, end - start);
        batch.push(buf.subarray(start, start + len));
        start += len;
      }
      if (batch.length > 0) yield batch;
      if (eof) return;
      buf.copyWithin(0, start, end);
      end -= start;
      start = 0;
    }
  }
}
