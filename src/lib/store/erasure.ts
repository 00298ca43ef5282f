/**
 * Reed-Solomon erasure coding over GF(2^8) (the reed-solomon-erasure Rust crate,
 * compiled to WebAssembly): k data shards plus m = n - k parity shards, any k of
 * which rebuild the data.
 *
 * Only the package's .wasm is used, not its JS wrapper: the module's allocator
 * (wee_alloc) corrupts its heap after a few calls of differing sizes ("memory
 * access out of bounds" on the second 2-of-3 call with 50,001-byte shards), and
 * its Node loader needs `__dirname`, which ESM lacks. Each call therefore runs in
 * a fresh instance of the compiled module, so no heap outlives one call; the
 * instance is tiny and creating it costs far less than coding a sector.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The GF(2^8) codec allows at most 256 shards in all. */
export const MAX_SHARDS = 256;

interface _Exports {
  memory: WebAssembly.Memory;
  encode(ptr: number, len: number, k: number, m: number): number;
  reconstruct(ptr: number, len: number, k: number, m: number, availPtr: number, availLen: number): number;
  __wbindgen_malloc(len: number): number;
}

let _module: WebAssembly.Module | null = null;

function _instance(): _Exports {
  if (!_module) {
    const entry = createRequire(import.meta.url).resolve('@digitaldefiance/reed-solomon-erasure.wasm');
    _module = new WebAssembly.Module(readFileSync(join(dirname(entry), 'reed_solomon_erasure_bg.wasm')));
  }
  return new WebAssembly.Instance(_module).exports as unknown as _Exports;
}

/** Runs the codec over `all` (n shards back to back) in place; `avail` marks present shards for reconstruct. */
function _run(all: Buffer, k: number, n: number, avail?: boolean[]): void {
  const w = _instance();
  const ptr = w.__wbindgen_malloc(all.length);
  new Uint8Array(w.memory.buffer, ptr, all.length).set(all);
  let rc: number;
  if (avail) {
    const aptr = w.__wbindgen_malloc(n);
    new Uint8Array(w.memory.buffer, aptr, n).set(avail.map((a) => (a ? 1 : 0)));
    rc = w.reconstruct(ptr, all.length, k, n - k, aptr, n);
  } else {
    rc = w.encode(ptr, all.length, k, n - k);
  }
  if (rc !== 0) throw new Error(`erasure ${avail ? 'reconstruct' : 'encode'} failed with code ${rc}`);
  // Memory may have grown during the call: take a fresh view of it.
  all.set(new Uint8Array(w.memory.buffer, ptr, all.length));
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
  if (n > k) _run(all, k, n);
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
  if (dataMissing) _run(all, k, n, present);
  return all.subarray(0, length);
}
