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
import { type Matrix, codingMatrix, invert, mulRowInto } from './gf256.js';

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
export function encodeShards(data: Uint8Array | Uint8Array[], k: number, n: number): Buffer[] {
  checkErasure(k, n);
  const parts = Array.isArray(data) ? data : [data];
  const size = shardSize(parts.reduce((s, p) => s + p.length, 0), k);
  // Shards start at multiples of 4 (the fast path of mulRowInto wants aligned words).
  const stride = Math.ceil(size / 4) * 4;
  const all = Buffer.alloc(stride * n);
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) out.push(all.subarray(i * stride, i * stride + size));
  // Data bytes go to shard (offset / size) at (offset % size); parts may straddle shards.
  let offset = 0;
  for (const part of parts) {
    for (let done = 0; done < part.length; ) {
      const i = Math.floor(offset / size);
      const at = offset % size;
      const take = Math.min(size - at, part.length - done);
      out[i].set(part.subarray(done, done + take), at);
      done += take;
      offset += take;
    }
  }
  const m = _matrix(k, n);
  for (let p = k; p < n; p++) mulRowInto(out[p], out.slice(0, k), m[p]);
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
  // Rebuild from the first k present shards: their rows of the coding matrix, inverted, map them back to the data.
  const rows = present.flatMap((p, i) => (p ? [i] : [])).slice(0, k);
  // Every data shard is here: join them, nothing to decode.
  if (rows.every((r, i) => r === i)) return Buffer.concat(rows.map((r) => shards[r]!)).subarray(0, length);
  const stride = Math.ceil(size / 4) * 4;
  const out = Buffer.alloc(stride * k);
  const m = _matrix(k, n);
  const inv = invert(rows.map((r) => m[r]));
  const inputs = rows.map((r) => shards[r]!);
  for (let d = 0; d < k; d++) {
    const target = out.subarray(d * stride, d * stride + size);
    if (present[d]) target.set(shards[d]!);
    else mulRowInto(target, inputs, inv[d]);
  }
  const result = Buffer.alloc(length);
  for (let d = 0, pos = 0; pos < length; d++, pos += size) out.copy(result, pos, d * stride, d * stride + Math.min(size, length - pos));
  return result;
}
