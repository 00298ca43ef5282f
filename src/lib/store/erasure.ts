/**
 * Reed-Solomon erasure coding over GF(2^8) (the reed-solomon-erasure Rust crate,
 * compiled to WebAssembly): k data shards plus m = n - k parity shards, any k of
 * which rebuild the data. The package's own Node loader looks for `__dirname`,
 * which ESM lacks, so the .wasm bytes are read here and handed to `fromBytes`.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ReedSolomonErasure } from '@digitaldefiance/reed-solomon-erasure.wasm';

/** The GF(2^8) codec allows at most 256 shards in all. */
export const MAX_SHARDS = 256;

let _rs: ReedSolomonErasure | null = null;

function _codec(): ReedSolomonErasure {
  if (!_rs) {
    const entry = createRequire(import.meta.url).resolve('@digitaldefiance/reed-solomon-erasure.wasm');
    _rs = ReedSolomonErasure.fromBytes(readFileSync(join(dirname(entry), 'reed_solomon_erasure_bg.wasm')));
  }
  return _rs;
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
  const all = Buffer.alloc(size * n);
  all.set(data, 0);
  if (n > k) {
    const rc = _codec().encode(all, k, n - k);
    if (rc !== ReedSolomonErasure.RESULT_OK) throw new Error(`erasure encode failed: ${ReedSolomonErasure.getResultMessage(rc)}`);
  }
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) out.push(all.subarray(i * size, (i + 1) * size));
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
  const all = Buffer.alloc(size * n);
  shards.forEach((s, i) => {
    if (s === null) return;
    if (s.length !== size) throw new RangeError(`shard ${i} is ${s.length} bytes, expected ${size}`);
    all.set(s, i * size);
  });
  const dataMissing = present.slice(0, k).some((p) => !p);
  if (dataMissing) {
    const rc = _codec().reconstruct(all, k, n - k, present);
    if (rc !== ReedSolomonErasure.RESULT_OK) throw new Error(`erasure reconstruct failed: ${ReedSolomonErasure.getResultMessage(rc)}`);
  }
  return all.subarray(0, length);
}
