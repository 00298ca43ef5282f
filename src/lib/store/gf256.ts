/**
 * Arithmetic in GF(2^8) with the polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11D)
 * and generator 2, and the small matrices Reed-Solomon needs. The same field
 * and matrix construction as the reed-solomon-erasure crate and Backblaze's
 * JavaReedSolomon, so shards are bit-identical to theirs (the tests check it
 * against the crate's WebAssembly build).
 * https://www.backblaze.com/blog/reed-solomon/
 */

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
 * out = sum of coefs[i] * inputs[i], bytewise: one parity shard in one pass over
 * the output (rather than one read-modify-write pass per input). All inputs are
 * out.length bytes; words when everything is 4-byte aligned.
 */
export function mulRowInto(out: Uint8Array, inputs: Uint8Array[], coefs: ArrayLike<number>): void {
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
