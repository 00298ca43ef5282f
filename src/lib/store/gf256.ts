/**
 * Arithmetic in GF(2^8) with the polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11D)
 * and generator 2, and the small matrices Reed-Solomon needs. The same field
 * and matrix construction as the reed-solomon-erasure crate and Backblaze's
 * JavaReedSolomon, so shards are bit-identical to theirs (the tests check it
 * against the crate's WebAssembly build).
 * https://www.backblaze.com/blog/reed-solomon/
 */
import { GF256_WASM } from './gf256-wasm.js';

const _EXP = new Uint8Array(510);
const _LOG = new Uint8Array(256);
for (let i = 0, x = 1; i < 255; i++) {
  _EXP[i] = x;
  _LOG[x] = i;
  x <<= 1;
  if (x & 0x100) x ^= 0x11d;
}
for (let i = 255; i < 510; i++) _EXP[i] = _EXP[i - 255];

/** MUL[a * 256 + b] = a * b: one 256-byte row per coefficient, for table lookups in the hot loop. */
const _MUL = new Uint8Array(256 * 256);
for (let a = 1; a < 256; a++) for (let b = 1; b < 256; b++) _MUL[a * 256 + b] = _EXP[_LOG[a] + _LOG[b]];

export function mul(a: number, b: number): number {
  return _MUL[a * 256 + b];
}

function _inv(a: number): number {
  if (a === 0) throw new RangeError('0 has no inverse in GF(2^8)');
  return _EXP[255 - _LOG[a]];
}

/** a^n; 0^0 = 1 as in the crate's vandermonde matrix. */
function _pow(a: number, n: number): number {
  if (n === 0) return 1;
  if (a === 0) return 0;
  return _EXP[(_LOG[a] * n) % 255];
}

/** A matrix as rows of bytes. */
export type Matrix = Uint8Array[];

function _multiply(a: Matrix, b: Matrix): Matrix {
  return a.map((row) => {
    const out = new Uint8Array(b[0].length);
    for (let c = 0; c < out.length; c++) {
      let v = 0;
      for (let i = 0; i < row.length; i++) v ^= mul(row[i], b[i][c]);
      out[c] = v;
    }
    return out;
  });
}

/** The inverse of a square matrix by Gauss-Jordan elimination; throws if singular. */
export function invert(m: Matrix): Matrix {
  const n = m.length;
  const a = m.map((row, r) => {
    const wide = new Uint8Array(2 * n);
    wide.set(row);
    wide[n + r] = 1;
    return wide;
  });
  for (let c = 0; c < n; c++) {
    const p = a.findIndex((row, r) => r >= c && row[c] !== 0);
    if (p < 0) throw new RangeError('matrix is singular');
    [a[c], a[p]] = [a[p], a[c]];
    const s = _inv(a[c][c]);
    for (let i = 0; i < 2 * n; i++) a[c][i] = mul(a[c][i], s);
    for (let r = 0; r < n; r++) {
      const f = a[r][c];
      if (r === c || f === 0) continue;
      for (let i = 0; i < 2 * n; i++) a[r][i] ^= mul(f, a[c][i]);
    }
  }
  return a.map((row) => row.slice(n));
}

/** The n x k coding matrix: a vandermonde matrix times the inverse of its top k rows, so its top is the identity. */
export function codingMatrix(k: number, n: number): Matrix {
  const v: Matrix = Array.from({ length: n }, (_, r) => Uint8Array.from({ length: k }, (_, c) => _pow(r, c)));
  return _multiply(v, invert(v.slice(0, k)));
}

/**
 * out = sum of coefs[i] * inputs[i], bytewise, for inputs of at least
 * out.length bytes: one parity shard in one pass over the output (rather than
 * one read-modify-write pass per input). With WebAssembly SIMD when the runtime
 * has it and the row is long enough to repay copying it in and out.
 */
export function mulRowInto(out: Uint8Array, inputs: Uint8Array[], coefs: ArrayLike<number>): void {
  if (inputs.length !== coefs.length) throw new RangeError(`${inputs.length} inputs for ${coefs.length} coefficients`);
  const short = inputs.findIndex((b) => b.length < out.length);
  if (short >= 0) throw new RangeError(`input ${short} is ${inputs[short].length} bytes, the output ${out.length}`);
  if (out.length >= SIMD_MIN_BYTES && simdAvailable()) mulRowSimd(out, inputs, coefs);
  else mulRowJs(out, inputs, coefs);
}

/** The scalar loop: a 256-byte table per coefficient, 4 bytes at a time when everything is 4-byte aligned. */
export function mulRowJs(out: Uint8Array, inputs: Uint8Array[], coefs: ArrayLike<number>): void {
  const tables = inputs.map((_, i) => _MUL.subarray(coefs[i] * 256, coefs[i] * 256 + 256));
  const n = out.length;
  const aligned = out.byteOffset % 4 === 0 && inputs.every((b) => b.byteOffset % 4 === 0);
  let x = 0;
  if (aligned) {
    const words = n >>> 2;
    const o32 = new Uint32Array(out.buffer, out.byteOffset, words);
    const i32 = inputs.map((b) => new Uint32Array(b.buffer, b.byteOffset, words));
    const k = inputs.length;
    for (let w = 0; w < words; w++) {
      let acc = 0;
      for (let i = 0; i < k; i++) {
        const t = tables[i];
        const v = i32[i][w];
        acc ^= t[v & 255] | (t[(v >>> 8) & 255] << 8) | (t[(v >>> 16) & 255] << 16) | (t[v >>> 24] << 24);
      }
      o32[w] = acc;
    }
    x = words * 4;
  }
  for (; x < n; x++) {
    let acc = 0;
    for (let i = 0; i < inputs.length; i++) acc ^= tables[i][inputs[i][x]];
    out[x] = acc;
  }
}

/**
 * NIBBLES[c * 32 + x] = c * x and NIBBLES[c * 32 + 16 + x] = c * (x << 4), x < 16:
 * gf256.wat's split-nibble tables.
 */
const _NIBBLES = new Uint8Array(256 * 32);
for (let c = 0; c < 256; c++) {
  for (let x = 0; x < 16; x++) {
    _NIBBLES[c * 32 + x] = mul(c, x);
    _NIBBLES[c * 32 + 16 + x] = mul(c, x << 4);
  }
}

// tsconfig's lib (ES2023, no DOM) does not declare the WebAssembly global that Node provides.
const _wasm = (globalThis as any).WebAssembly;

interface _Simd {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  mulRow(tables: number, inputs: number, k: number, stride: number, length: number, out: number): void;
}

/** Undefined until first used, null where the runtime has no WebAssembly SIMD. */
let _simd: _Simd | null | undefined;

function _instance(): _Simd | null {
  if (_simd === undefined) {
    try {
      _simd = new _wasm.Instance(new _wasm.Module(Buffer.from(GF256_WASM, 'base64'))).exports as _Simd;
    } catch {
      _simd = null;
    }
  }
  return _simd;
}

/** Whether mulRowSimd can run here: compiles the module on first call. */
export function simdAvailable(): boolean {
  return _instance() !== null;
}

/** Shorter rows go to mulRowJs: below this, copying into the wasm memory costs more than SIMD saves. */
export const SIMD_MIN_BYTES = 64;

/**
 * Bytes of each input copied into the wasm memory per call: small enough that
 * the copies stay in the CPU's cache until the SIMD loop reads them, and that
 * the memory stays small for any shard size.
 */
const _BLOCK = 32 * 1024;
/** The coefficients' tables go first, at most 256 of 32 bytes; the inputs and the output follow. */
const _TABLES_BYTES = 256 * 32;

/** mulRowInto with gf256.wat, a block of each input at a time; throws where simdAvailable() is false. */
export function mulRowSimd(out: Uint8Array, inputs: Uint8Array[], coefs: ArrayLike<number>): void {
  const simd = _instance();
  if (simd === null) throw new Error('WebAssembly SIMD is not available');
  const k = inputs.length;
  if (k > 256) throw new RangeError(`at most 256 inputs, got ${k}`);
  const at = _TABLES_BYTES + k * _BLOCK;
  if (simd.memory.buffer.byteLength < at + _BLOCK) simd.memory.grow(Math.ceil((at + _BLOCK - simd.memory.buffer.byteLength) / 65536));
  const mem = new Uint8Array(simd.memory.buffer);
  for (let i = 0; i < k; i++) mem.set(_NIBBLES.subarray(coefs[i] * 32, coefs[i] * 32 + 32), i * 32);
  for (let x = 0; x < out.length; x += _BLOCK) {
    const len = Math.min(_BLOCK, out.length - x);
    for (let i = 0; i < k; i++) mem.set(inputs[i].subarray(x, x + len), _TABLES_BYTES + i * _BLOCK);
    // The wasm loop takes 16 bytes a turn; what it reads past len is left over from earlier blocks, and its result is not copied out.
    simd.mulRow(0, _TABLES_BYTES, k, _BLOCK, Math.ceil(len / 16) * 16, at);
    out.set(mem.subarray(at, at + len), x);
  }
}
