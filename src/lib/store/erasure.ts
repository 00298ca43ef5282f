/**
 * Reed-Solomon erasure coding over GF(2^8): k data shards plus n - k parity
 * shards, any k of which rebuild the data (gf256.ts has the field and matrices).
 *
 * Why not the @digitaldefiance/reed-solomon-erasure.wasm build of the same code
 * at run time: its allocator (wee_alloc) corrupts the heap after a call or two
 * ("memory access out of bounds", or a reconstruct that wrongly reports too few
 * shards), so only a fresh instance per call is correct, and that runs at ~100
 * MB/s here because every call touches new wasm pages. This implementation
 * produces the same shards (the tests compare them with the wasm build); its
 * hot loop is our own small WebAssembly SIMD module (gf256.wat), ~9 GB/s for
 * 2-of-3.
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

/** Distance between shards of `size` bytes in one buffer: shards start at multiples of 4 (the JavaScript fallback of mulRowInto wants aligned words). */
function _stride(size: number): number {
  return Math.ceil(size / 4) * 4;
}

/** Bytes of one buffer holding n shards for `length` bytes. */
export function shardsBytes(length: number, k: number, n: number): number {
  return _stride(shardSize(length, k)) * n;
}

/**
 * n shard views for `length` bytes of data, in `into` when it is large enough
 * (so a caller can reuse one buffer sector after sector), else in a new buffer.
 * The caller then writes exactly `length` data bytes (dataWriter) and the
 * parity (fillParity); the padding after the data is zeroed here.
 */
export function shardViews(length: number, k: number, n: number, into?: Buffer): Buffer[] {
  checkErasure(k, n);
  const size = shardSize(length, k);
  const stride = _stride(size);
  const reuse = into !== undefined && into.length >= stride * n;
  const all = reuse ? into : Buffer.alloc(stride * n);
  const views = Array.from({ length: n }, (_, i) => all.subarray(i * stride, i * stride + size));
  if (reuse) views[k - 1].fill(0, length - (k - 1) * size);
  return views;
}

/** A writer of data bytes, in order, into the data shards of `shards` (views from shardViews). */
export function dataWriter(shards: Buffer[]): (bytes: Uint8Array) => void {
  const size = shards[0].length;
  let offset = 0;
  return (bytes) => {
    for (let done = 0; done < bytes.length; ) {
      const at = offset % size;
      const take = Math.min(size - at, bytes.length - done);
      shards[Math.floor(offset / size)].set(bytes.subarray(done, done + take), at);
      done += take;
      offset += take;
    }
  };
}

/** Computes the n - k parity shards of `shards` (views from shardViews) from its k data shards. */
export function fillParity(shards: Buffer[], k: number): void {
  const m = _matrix(k, shards.length);
  for (let p = k; p < shards.length; p++) mulRowInto(shards[p], shards.slice(0, k), m[p]);
}

/**
 * Splits `data` into k data shards (the last zero-padded) and adds n - k parity
 * shards. Returns n views into one buffer of n x shardSize bytes.
 */
export function encodeShards(data: Uint8Array | Uint8Array[], k: number, n: number): Buffer[] {
  const parts = Array.isArray(data) ? data : [data];
  const out = shardViews(parts.reduce((s, p) => s + p.length, 0), k, n);
  const write = dataWriter(out);
  parts.forEach(write);
  fillParity(out, k);
  return out;
}

/**
 * The data shards behind at least k of n shards (`shards[i]` null where shard
 * i is missing, every present one `size` bytes): present ones as they are,
 * missing ones rebuilt, each cut so that together they are `length` bytes.
 */
export function dataShards(shards: (Uint8Array | null)[], k: number, length: number): Uint8Array[] {
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
  const missing = rows.every((r, i) => r === i) ? [] : present.slice(0, k).flatMap((p, d) => (p ? [] : [d]));
  const rebuilt = new Map<number, Uint8Array>();
  if (missing.length > 0) {
    const inv = invert(rows.map((r) => _matrix(k, n)[r]));
    const inputs = rows.map((r) => shards[r]!);
    const stride = _stride(size);
    const out = Buffer.alloc(stride * missing.length);
    missing.forEach((d, j) => {
      const target = out.subarray(j * stride, j * stride + size);
      mulRowInto(target, inputs, inv[d]);
      rebuilt.set(d, target);
    });
  }
  const out: Uint8Array[] = [];
  for (let d = 0, pos = 0; pos < length; d++, pos += size) out.push((rebuilt.get(d) ?? shards[d]!).subarray(0, Math.min(size, length - pos)));
  return out;
}

/**
 * Rebuilds the original `length` bytes from at least k shards; `shards[i]` is
 * null where shard i is missing. Every present shard must be `size` bytes.
 */
export function decodeShards(shards: (Uint8Array | null)[], k: number, length: number): Buffer {
  return Buffer.concat(dataShards(shards, k, length));
}
