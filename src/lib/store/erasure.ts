/**
 * Reed-Solomon erasure coding over GF(2^8): k data shards plus n - k parity
 * shards, any k of which rebuild the data (gf256.ts has the field and matrices).
 *
 * Why not the @digitaldefiance/reed-solomon-erasure.wasm build of the same code
 * at run time: its allocator (wee_alloc) corrupts the heap after a call or two
 * ("memory access out of bounds", or a reconstruct that wrongly reports too few
 * shards), so only a fresh instance per call is correct, and that runs at ~100
 * MB/s here because every call touches new wasm pages. This implementation
 * produces the same shards (the tests compare them with the wasm build) at
 * ~600 MB/s for 2-of-3.
 */
import { type Matrix, codingMatrix, invert, mulAddInto } from './gf256.js';

/** The field allows at most 256 shards in all. */
export const MAX_SHARDS = 256;

const _matrices = new Map<string, Matrix>();

function _matrix(k: number, n: number): Matrix {
  const key = `${k}/${n}`;
  let m = _matrices.get(key);
  if (!m) _matrices.set(key, (m = codingMatrix(k, n)));
  return m;
}

/** Checks a k-of-n choice; throws RangeError naming the bad value. */
export function checkErasure(k: number, n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_SHARDS) throw new RangeError(`n must be an integer in [1, ${MAX_SHARDS}], got ${n}`);
  if (!Number.isInteger(k) || k < 1 || k > n) throw new RangeError(`k must be an integer in [1, n=${n}], got ${k}`);
}

/** Size of each shard for `length` bytes split over k data shards. */
export function shardSize(length: number, k: number): number {
  return Math.max(1, Math.ceil(length / k));
}

/**
 * Splits `data` into k data shards (the last zero-padded) and adds n - k parity
 * shards. Returns n views into one buffer of n x shardSize bytes.
 */
export function encodeShards(data: Uint8Array, k: number, n: number): Buffer[] {
  checkErasure(k, n);
  const size = shardSize(data.length, k);
  // Shards start at multiples of 4 (the fast path of mulAddInto wants aligned words).
  const stride = Math.ceil(size / 4) * 4;
  const all = Buffer.alloc(stride * n);
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) out.push(all.subarray(i * stride, i * stride + size));
  for (let i = 0; i < k; i++) out[i].set(data.subarray(i * size, (i + 1) * size));
  const m = _matrix(k, n);
  for (let p = k; p < n; p++) for (let i = 0; i < k; i++) mulAddInto(out[p], out[i], m[p][i]);
  return out;
}

/**
 * Rebuilds the original `length` bytes from at least k shards; `shards[i]` is
 * null where shard i is missing. Every present shard must be `size` bytes.
 */
export function decodeShards(shards: (Uint8Array | null)[], k: number, length: number): Buffer {
  const n = shards.length;
  checkErasure(k, n);
  const present = shards.map((s) => s !== null);
  if (present.filter(Boolean).length < k) throw new RangeError(`need ${k} shards to decode, have ${present.filter(Boolean).length}`);
  const size = shardSize(length, k);
  shards.forEach((s, i) => {
    if (s !== null && s.length !== size) throw new RangeError(`shard ${i} is ${s.length} bytes, expected ${size}`);
  });
  const stride = Math.ceil(size / 4) * 4;
  const out = Buffer.alloc(stride * k);
  // Rebuild from the first k present shards: their rows of the coding matrix, inverted, map them back to the data.
  const rows = present.flatMap((p, i) => (p ? [i] : [])).slice(0, k);
  const copy = (src: Uint8Array, i: number) => out.set(src, i * stride);
  if (rows.every((r, i) => r === i)) {
    rows.forEach((r) => copy(shards[r]!, r));
  } else {
    const m = _matrix(k, n);
    const inv = invert(rows.map((r) => m[r]));
    for (let d = 0; d < k; d++) {
      const target = out.subarray(d * stride, d * stride + size);
      if (present[d]) copy(shards[d]!, d);
      else rows.forEach((r, j) => mulAddInto(target, shards[r]!, inv[d][j]));
    }
  }
  const result = Buffer.alloc(length);
  for (let d = 0, pos = 0; d < k && pos < length; d++, pos += size) out.copy(result, pos, d * stride, d * stride + Math.min(size, length - pos));
  return result;
}
