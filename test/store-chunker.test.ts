import test from 'ava';
import { execFileSync } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { WASM_MODULES, wasmModuleText } from '../scripts/build-wasm.js';
import { Chunker, gearTable } from '../src/lib/store/chunker.js';
import { decodeShards, encodeShards } from '../src/lib/store/erasure.js';
import { BODY_CHUNKER, DEFAULT_CHUNKER } from '../src/lib/store/store.js';

const gear = gearTable(Buffer.alloc(32, 1));
const chunker = () => new Chunker(gear, DEFAULT_CHUNKER);

/** A deterministic pseudo-random buffer (so failures reproduce): the ChaCha20 keystream under sha256(seed). */
function data(seed: string, size: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  return createCipheriv('chacha20', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

async function chunksOf(c: Chunker, buf: Buffer, readSize = 1 << 20, batch = 4 << 20): Promise<Buffer[]> {
  let pos = 0;
  const read = async (dst: Uint8Array, off: number, len: number) => {
    const n = Math.min(len, readSize, buf.length - pos);
    dst.set(buf.subarray(pos, pos + n), off);
    pos += n;
    return n;
  };
  const out: Buffer[] = [];
  for await (const chunks of c.batches(read, batch)) {
    if (chunks.length === 0) throw new Error('an empty batch');
    out.push(...chunks.map((ch) => Buffer.from(ch)));
  }
  return out;
}

const hashes = (cs: Buffer[]) => cs.map((c) => createHash('sha256').update(c).digest('hex'));

test('chunks reassemble to the input and respect min/max sizes', async (t) => {
  const buf = data('a', 12_000_000);
  const cs = await chunksOf(chunker(), buf);
  // Buffer.equals, not t.deepEqual: ava's deep comparison walks big buffers byte by byte, very slowly.
  t.true(Buffer.concat(cs).equals(buf));
  cs.slice(0, -1).forEach((c) => t.true(c.length >= DEFAULT_CHUNKER.minSize && c.length <= DEFAULT_CHUNKER.maxSize));
  const avg = buf.length / cs.length;
  const target = 2 ** DEFAULT_CHUNKER.avgBits;
  t.true(avg > 0.75 * target && avg < 1.75 * target, `average chunk ${avg}`);
});

test('boundaries do not depend on how the input is read or batched', async (t) => {
  const buf = data('b', 5_000_000);
  const expected = hashes(await chunksOf(chunker(), buf, 1 << 20));
  t.deepEqual(hashes(await chunksOf(chunker(), buf, 4099)), expected);
  t.deepEqual(hashes(await chunksOf(chunker(), buf, 1 << 20, 1)), expected);
  t.deepEqual(hashes(await chunksOf(chunker(), buf, 777_777, 3_000_001)), expected);
});

test('gear-wasm.ts is what npm run build:wasm makes of gear.wat', async (t) => {
  t.is(readFileSync(WASM_MODULES.gear.module, 'utf8'), await wasmModuleText(WASM_MODULES.gear));
});

test('WebAssembly runs here, and the JavaScript loop cuts exactly where it does', async (t) => {
  const wasm = chunker();
  const js = new Chunker(gear, DEFAULT_CHUNKER, { engine: 'js' });
  t.is(wasm.engine, 'wasm');
  t.is(js.engine, 'js');
  const buf = data('engines', 9_000_000);
  t.deepEqual(hashes(await chunksOf(js, buf)), hashes(await chunksOf(wasm, buf)));
  // Bytes outside the module's memory (a small file read whole) go through its window.
  for (let p = 0; p < buf.length; ) {
    const len = js.cut(buf, p, buf.length - p);
    t.is(wasm.cut(buf, p, buf.length - p), len);
    p += len;
  }
});

test('an insertion near the start changes only the chunks around it', async (t) => {
  const buf = data('c', 10_000_000);
  const edited = Buffer.concat([buf.subarray(0, 300_000), Buffer.from('inserted!'), buf.subarray(300_000)]);
  const a = new Set(hashes(await chunksOf(chunker(), buf)));
  const b = hashes(await chunksOf(chunker(), edited));
  const changed = b.filter((h) => !a.has(h)).length;
  t.true(changed <= 2, `${changed} of ${b.length} chunks changed`);
});

test('a different gear table (another repository key) cuts elsewhere', async (t) => {
  const buf = data('d', 4_000_000);
  const other = new Chunker(gearTable(Buffer.alloc(32, 2)), DEFAULT_CHUNKER);
  t.notDeepEqual(hashes(await chunksOf(chunker(), buf)), hashes(await chunksOf(other, buf)));
});

test('tiny and empty inputs give one chunk and no chunk', async (t) => {
  t.deepEqual(await chunksOf(chunker(), Buffer.alloc(0)), []);
  t.deepEqual(await chunksOf(chunker(), Buffer.from('x')), [Buffer.from('x')]);
});

// Boundaries decide what dedups against existing snapshots: a faster cut must cut the same.
test('golden vector: cut points of 4 MiB of keystream, for the data and body chunkers, on both engines', (t) => {
  const buf = data('golden', 4 << 20);
  const lengths = (params: typeof DEFAULT_CHUNKER, engine: 'wasm' | 'js' = 'wasm') => {
    const c = new Chunker(gear, params, { engine });
    const out: number[] = [];
    for (let p = 0; p < buf.length; p += out[out.length - 1]) out.push(c.cut(buf, p, buf.length - p));
    return out;
  };
  t.deepEqual(lengths(DEFAULT_CHUNKER), [
    145312, 142100, 164398, 168036, 192424, 182418, 99591, 136643, 137307, 152185, 148658, 144557, 200215, 125673, 174171, 106693, 133209, 157318, 140064, 110423,
    144556, 200863, 149132, 113571, 172646, 71096, 152690, 182154, 46201,
  ]);
  t.deepEqual(lengths(BODY_CHUNKER), [
    83142, 67890, 91752, 69498, 65718, 66127, 74073, 86554, 71208, 70090, 66218, 75869, 106549, 99591, 123048, 76282, 72433, 66040, 88332, 46060, 65751, 81223,
    72796, 83356, 91427, 52817, 32467, 68728, 24478, 68468, 94740, 90411, 27245, 66926, 66283, 98210, 60193, 114002, 67125, 68275, 69509, 75047, 129696, 71167,
    30307, 66322, 106143, 59931, 68165, 72882, 76272, 26423, 90818, 65641, 86894, 68774, 22717, 46201,
  ]);
  t.deepEqual(lengths(DEFAULT_CHUNKER, 'js'), lengths(DEFAULT_CHUNKER));
  t.deepEqual(lengths(BODY_CHUNKER, 'js'), lengths(BODY_CHUNKER));
});

test('without WebAssembly (node --jitless), the chunker runs the JavaScript loop and cuts at the same points', (t) => {
  const script = `
    import { createCipheriv, createHash } from 'node:crypto';
    import { Chunker, gearTable } from './src/lib/store/chunker.ts';
    import { DEFAULT_CHUNKER } from './src/lib/store/store.ts';
    const buf = createCipheriv('chacha20', createHash('sha256').update('golden').digest(), Buffer.alloc(16)).update(Buffer.alloc(1 << 20));
    const c = new Chunker(gearTable(Buffer.alloc(32, 1)), DEFAULT_CHUNKER);
    const out = [];
    for (let p = 0; p < buf.length; p += out[out.length - 1]) out.push(c.cut(buf, p, buf.length - p));
    console.log(JSON.stringify({ engine: c.engine, lengths: out.slice(0, 5) }));`;
  const cwd = new URL('..', import.meta.url);
  const got = JSON.parse(execFileSync(process.execPath, ['--jitless', '--import=tsx', '--input-type=module', '-e', script], { cwd, encoding: 'utf8', stdio: 'pipe' }));
  // The golden vector's first cuts.
  t.deepEqual(got, { engine: 'js', lengths: [145312, 142100, 164398, 168036, 192424] });
});

test('chunker and gear arguments are checked', async (t) => {
  t.throws(() => new Chunker(gear, { minSize: 1 << 20, avgBits: 18, maxSize: 2 << 20 }), { instanceOf: RangeError, message: /minSize/ });
  t.throws(() => new Chunker(gear, { minSize: 1024, avgBits: 18, maxSize: 1 << 18 }), { instanceOf: RangeError, message: /maxSize/ });
  t.throws(() => gearTable(Buffer.alloc(4)), { instanceOf: RangeError });
  t.throws(() => new Chunker(gear, DEFAULT_CHUNKER, { engine: 'c' as 'js' }), { instanceOf: RangeError, message: /engine/ });
  const none = async () => 0;
  await t.throwsAsync(() => chunker().batches(none, 0).next(), { instanceOf: RangeError, message: /minBytes/ });
});

test('erasure: any k of n shards rebuild the data, for several k-of-n', (t) => {
  for (const [k, n] of [[1, 1], [2, 3], [3, 5], [4, 6]]) {
    const buf = randomBytes(100_001);
    const shards = encodeShards(buf, k, n);
    t.is(shards.length, n);
    // Drop every combination of n - k shards (small n, so exhaustive).
    for (let mask = 0; mask < 1 << n; mask++) {
      const kept = [...Array(n).keys()].filter((i) => mask & (1 << i));
      if (kept.length !== k) continue;
      const partial = shards.map((s, i) => (kept.includes(i) ? s : null));
      t.true(decodeShards(partial, k, buf.length).equals(buf), `k=${k} n=${n} kept=${kept}`);
    }
  }
});

/**
 * The reed-solomon-erasure crate's own WebAssembly build, one fresh instance per
 * call (its allocator is not reusable; see erasure.ts): the reference our shards must match.
 */
function crateEncode(data: Uint8Array, k: number, n: number): Buffer {
  const entry = createRequire(import.meta.url).resolve('@digitaldefiance/reed-solomon-erasure.wasm');
  // tsconfig's lib (ES2023, no DOM) does not declare the WebAssembly global that Node provides.
  const wasm = (globalThis as any).WebAssembly;
  const mod = new wasm.Module(readFileSync(join(dirname(entry), 'reed_solomon_erasure_bg.wasm')));
  const w = new wasm.Instance(mod).exports;
  const size = Math.ceil(data.length / k);
  const ptr = w.__wbindgen_malloc(size * n);
  new Uint8Array(w.memory.buffer, ptr, size * n).set(data);
  if (w.encode(ptr, size * n, k, n - k) !== 0) throw new Error('crate encode failed');
  return Buffer.from(new Uint8Array(w.memory.buffer, ptr, size * n));
}

test('erasure: shards are bit-identical to the reed-solomon-erasure crate (wasm build)', (t) => {
  for (const [k, n, len] of [[2, 3, 100_001], [3, 5, 65_536], [4, 6, 4_000_003], [1, 4, 999], [10, 14, 123_457]]) {
    const buf = randomBytes(len);
    const ours = Buffer.concat(encodeShards(buf, k, n));
    t.true(ours.equals(crateEncode(buf, k, n)), `k=${k} n=${n} len=${len}`);
  }
});

test('erasure: data given as parts that straddle shard boundaries codes like the joined bytes', (t) => {
  const parts = [randomBytes(4), randomBytes(24), randomBytes(70_001), randomBytes(16)];
  for (const [k, n] of [[2, 3], [3, 5], [7, 9]]) {
    const joined = encodeShards(Buffer.concat(parts), k, n);
    t.true(Buffer.concat(encodeShards(parts, k, n)).equals(Buffer.concat(joined)), `k=${k} n=${n}`);
  }
});

test('erasure: too few shards and bad parameters are errors', (t) => {
  const shards = encodeShards(randomBytes(1000), 2, 3);
  t.throws(() => decodeShards([shards[0], null, null], 2, 1000), { instanceOf: RangeError, message: /need 2 shards/ });
  t.throws(() => encodeShards(randomBytes(10), 4, 3), { instanceOf: RangeError, message: /k must be/ });
  t.throws(() => decodeShards([shards[0].subarray(1), shards[1], null], 2, 1000), { instanceOf: RangeError, message: /shard 0/ });
});
