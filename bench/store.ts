/**
 * Store engine figures, each beside what it should be read against, measured
 * in the same run:
 *
 * - the raw push pipeline (chunk, chunk ids, seal, erasure-code, shard hashes;
 *   no disk, no network) beside node:crypto's chacha20-poly1305 + sha256 on the
 *   same bytes, the floor any pipeline built on them pays;
 * - push and pull of a generated mixed tree to 3 local-directory backends,
 *   beside `restic backup` / `restic restore` of the same tree to a local
 *   repository when restic is installed, with peak resident memory of each.
 *   Both run as child processes under /usr/bin/time, so peak memory is
 *   measured the same way for both; push and pull time is what the operation
 *   itself reports, without Node's start-up (and tsx's, when run from source).
 *
 * Sizes: CC_BENCH_STORE_MB (tree, default 250), CC_BENCH_PIPELINE_MB (default 256).
 */
import { spawn } from 'node:child_process';
import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BenchSuite, type Figure } from './harness.js';
import { Chunker, gearTable } from '../src/lib/store/chunker.js';
import { StoreKeys } from '../src/lib/store/keys.js';
import { SECTOR_PLAIN_MAX, sealSector, shardSector } from '../src/lib/store/sector.js';
import { DEFAULT_CHUNKER } from '../src/lib/store/store.js';

const MiB = 1024 * 1024;

function _envMB(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`${name} must be a positive number of MB, got ${JSON.stringify(v)}`);
  return n;
}

/** Incompressible bytes, fast: a ChaCha20 keystream. */
function _noise(size: number): Buffer {
  return createCipheriv('chacha20', randomBytes(32), randomBytes(16)).update(Buffer.alloc(size));
}

/** The push pipeline without I/O over `total` bytes (a 32 MiB buffer, repeated); MB/s. */
function _pipelineRate(keys: StoreKeys, total: number): number {
  const chunker = new Chunker(gearTable(keys.gear), DEFAULT_CHUNKER);
  const src = _noise(32 * MiB);
  const sector = Buffer.allocUnsafe(SECTOR_PLAIN_MAX);
  let used = 0;
  let ids: string[] = [];
  const flush = () => {
    shardSector(sealSector(keys, sector.subarray(0, used), ids).parts, 2, 3);
    used = 0;
    ids = [];
  };
  const start = performance.now();
  for (let done = 0; done < total; done += src.length) {
    let pos = 0;
    while (pos < src.length) {
      const len = chunker.cut(src, pos, src.length - pos);
      const chunk = src.subarray(pos, pos + len);
      const id = createHmac('sha256', keys.ids).update(chunk).digest('hex');
      if (used + len > SECTOR_PLAIN_MAX) flush();
      ids.push(id);
      chunk.copy(sector, used);
      used += len;
      pos += len;
    }
  }
  if (used > 0) flush();
  return total / 1e6 / ((performance.now() - start) / 1000);
}

/** node:crypto chacha20-poly1305 plus sha256 over `total` bytes in 8 MiB buffers; MB/s. */
function _aeadShaRate(total: number): number {
  const buf = _noise(8 * MiB);
  const key = randomBytes(32);
  const start = performance.now();
  for (let done = 0; done < total; done += buf.length) {
    const c = createCipheriv('chacha20-poly1305', key, randomBytes(12), { authTagLength: 16 });
    c.update(buf);
    c.final();
    c.getAuthTag();
    createHash('sha256').update(buf).digest();
  }
  return total / 1e6 / ((performance.now() - start) / 1000);
}

/** A tree of about `bytes`: ~45% in 8-48 MiB files, ~45% in 64 KiB-4 MiB files, the rest in up to 5,000 files of 0-8 KiB. */
async function _mixedTree(root: string, bytes: number): Promise<number> {
  let written = 0;
  const file = async (path: string, size: number) => {
    await mkdir(join(root, path, '..'), { recursive: true });
    const fh = await open(join(root, path), 'w');
    for (let off = 0; off < size; off += 8 * MiB) await fh.write(_noise(Math.min(8 * MiB, size - off)));
    await fh.close();
    written += size;
  };
  for (let i = 0; written < bytes * 0.45; i++) await file(`big/file ${i}.bin`, (8 + ((i * 13) % 41)) * MiB);
  for (let i = 0; written < bytes * 0.9; i++) await file(`medium/d${i % 20}/m${i}`, 64 * 1024 + ((i * 7919 * 1024) % (4 * MiB)));
  for (let i = 0; i < 5000 && written < bytes; i++) {
    if (i % 250 === 0) await mkdir(join(root, `small/d${i / 250}`), { recursive: true });
    const size = (i * 131) % 8192;
    await writeFile(join(root, `small/d${Math.floor(i / 250)}/s${i}.txt`), _noise(size));
    written += size;
  }
  return written;
}

/**
 * Runs a command under /usr/bin/time; returns seconds (those it prints as JSON
 * `{"seconds"}` on stdout, else wall time) and its peak RSS in MiB, or null if it fails.
 */
async function _timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ seconds: number; peakMiB: number } | null> {
  const start = performance.now();
  let stdout = '';
  let stderr = '';
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn('/usr/bin/time', ['-f', 'maxrss=%M', cmd, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', () => resolve(null));
    child.on('exit', resolve);
  });
  const m = /maxrss=(\d+)/.exec(stderr);
  if (code !== 0 || !m) return null;
  const reported = /^\{"seconds":([0-9.e+-]+)\}$/.exec(stdout.trim());
  return { seconds: reported ? Number(reported[1]) : (performance.now() - start) / 1000, peakMiB: Number(m[1]) / 1024 };
}

/** The store library, for the child processes: the .ts source under tsx, the compiled .js otherwise. */
const _LIB = new URL('../src/lib/store/index.js', import.meta.url).href;

/** One push or pull in a process of its own: `op lib masterHex base src out`, hosts in base/host0..2. */
const _CHILD = `
const [op, lib, master, base, src, out] = process.argv.slice(2);
const { LocalBackend, Store, StoreKeys } = await import(lib);
const backends = [0, 1, 2].map((i) => new LocalBackend('host' + i, base + '/host' + i));
const store = await Store.open({ keys: new StoreKeys(Buffer.from(master, 'hex')), backends, stateDir: base + '/state' });
try {
  const result = op === 'push' ? await store.push(src) : await store.pull('latest', out);
  process.stdout.write(JSON.stringify({ seconds: result.seconds }));
} finally {
  await store.close();
}
`;

async function _run(): Promise<Figure[]> {
  const treeMB = _envMB('CC_BENCH_STORE_MB', 250);
  const pipelineMB = _envMB('CC_BENCH_PIPELINE_MB', 256);
  const master = randomBytes(32);
  const keys = new StoreKeys(master);
  const figures: Figure[] = [];
  const base = await mkdtemp(join(tmpdir(), 'cc-bench-store-'));
  try {
    const src = join(base, 'src');
    const size = (await _mixedTree(src, treeMB * 1e6)) / 1e6;
    const script = join(base, 'op.mjs');
    await writeFile(script, _CHILD);
    const child = (op: string) =>
      _timed(process.execPath, [...process.execArgv, script, op, _LIB, master.toString('hex'), base, src, join(base, 'out')], process.env);
    const push = await child('push');
    const pull = push && (await child('pull'));
    if (!push || !pull) throw new Error('the push or pull child process failed');
    const env = { ...process.env, RESTIC_PASSWORD: 'bench', RESTIC_REPOSITORY: join(base, 'restic') };
    const init = await _timed('restic', ['init'], env);
    const backup = init && (await _timed('restic', ['backup', '--quiet', src], env));
    const restore = backup && (await _timed('restic', ['restore', 'latest', '--target', join(base, 'restic-out')], env));
    const ref = (name: string, r: { seconds: number } | null) => (r ? { name, value: size / r.seconds, unit: 'MB/s' } : undefined);
    const rss = (name: string, r: { peakMiB: number } | null) => (r ? { name, value: r.peakMiB, unit: 'MiB' } : undefined);
    figures.push(
      { name: `push ${Math.round(size)} MB mixed tree, 3 local hosts (2-of-3)`, value: size / push.seconds, unit: 'MB/s', reference: ref('restic backup, local repo', backup) },
      { name: 'push peak RSS', value: push.peakMiB, unit: 'MiB', reference: rss('restic backup', backup) },
      { name: `pull ${Math.round(size)} MB mixed tree from 3 local hosts`, value: size / pull.seconds, unit: 'MB/s', reference: ref('restic restore', restore) },
      { name: 'pull peak RSS', value: pull.peakMiB, unit: 'MiB', reference: rss('restic restore', restore) },
    );
  } finally {
    await rm(base, { recursive: true, force: true });
  }
  const total = pipelineMB * 1e6;
  const limit = _aeadShaRate(total);
  figures.push({
    name: 'pipeline: chunk+ids+seal+erasure 2-of-3+shard hashes',
    value: _pipelineRate(keys, total),
    unit: 'MB/s',
    reference: { name: 'node:crypto chacha20-poly1305 + sha256', value: limit, unit: 'MB/s' },
  });
  return figures;
}

export const storeBench: BenchSuite = { name: 'store', run: _run };
