/**
 * Store figures, each beside what it should be read against, measured in the
 * same run:
 *
 * - push and pull of a generated mixed tree (~45% big files, ~45% medium, up
 *   to 5,000 small ones) to 3 local hosts: file servers as `cloudcoin serve`
 *   runs them, each its own process on 127.0.0.1 (bench/fileservers.ts), 2-of-3
 *   as a renter with 3 contracts gets by default. Beside them `restic backup`
 *   and `restic restore` of the same tree to a local repository, and peak
 *   resident memory of each. Both run as child processes under /usr/bin/time
 *   and are timed the same way, from start to exit: each starts, derives its
 *   key from a passphrase (ours with the KDF parameters `store init`
 *   uses), opens its store, works and exits, as a cron job would. Beside
 *   them, that fixed part alone: our start-up with no push, and `restic cat
 *   config`. The file servers' memory is theirs, not the client's; on a
 *   2-core machine they take CPU from it. And what the children skip, the
 *   command line's own start-up (oclif and the command's modules), beside
 *   Node's with nothing to load.
 * - the same push and pull to 3 local directories: the engine without HTTP.
 * - the same on a tree 8x larger (2 GB by default): memory must not grow.
 * - the raw push pipeline (chunk, chunk ids, seal, erasure-code, shard
 *   hashes; no disk, no network), as push runs it and on one thread, beside
 *   node:crypto's chacha20-poly1305 + sha256 on the same bytes.
 *
 * Each tree's push, pull and start-up figures, ours and restic's, are the
 * median of CC_BENCH_STORE_ROUNDS (default 3) rounds, ours then restic's in
 * odd rounds and restic's first in even ones (peak memory: the highest);
 * every round's times go to stderr.
 *
 * Sizes: CC_BENCH_STORE_MB (tree, default 250), CC_BENCH_STORE_BIG_MB (default
 * 2000, 0 skips it), CC_BENCH_PIPELINE_MB (default 256). Needs restic and
 * about 3.5x + 4.5x per round the size of both trees free under the temp directory (checked
 * first, _checkRoom): nothing is deleted until the end (see _run). Restores are slowed for a minute or more
 * after any large delete on this machine's file system, so run it a few
 * minutes after the tests (docs/store.md, "Speed and memory").
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchServer, benchContract, fakeNegotiator, startFileServer, stopFileServers } from './fileservers.js';
import { type BenchSuite, type Figure } from './harness.js';
import { aeadShaRate, noise, pipelineRate } from './pipeline.js';
import { StoreKeys, initKey } from '../src/lib/store/keys.js';

const MiB = 1024 * 1024;

function _envMB(name: string, fallback: number, zeroSkips = false): number {
  const v = process.env[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || (n === 0 && !zeroSkips)) throw new RangeError(`${name} must be a positive number of MB, got ${JSON.stringify(v)}`);
  return n;
}

function _envCount(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 20) throw new RangeError(`${name} must be a whole number from 1 to 20, got ${JSON.stringify(v)}`);
  return n;
}


/** A tree of about `bytes`: ~45% in 8-48 MiB files, the rest in 64 KiB-4 MiB files and 5,000 files of 0-8 KiB. */
async function _mixedTree(root: string, bytes: number): Promise<number> {
  let written = 0;
  const file = async (path: string, size: number) => {
    await mkdir(join(root, path, '..'), { recursive: true });
    const fh = await open(join(root, path), 'w');
    for (let off = 0; off < size; off += 8 * MiB) await fh.write(noise(Math.min(8 * MiB, size - off)));
    await fh.close();
    written += size;
  };
  for (let i = 0; written < bytes * 0.45; i++) await file(`big/file ${i}.bin`, (8 + ((i * 13) % 41)) * MiB);
  // Medium files up to what the small ones (5,000 of 4 KiB on average) leave.
  for (let i = 0; written < Math.max(bytes * 0.9, bytes - 5000 * 4096); i++) await file(`medium/d${i % 20}/m${i}`, 64 * 1024 + ((i * 7919 * 1024) % (4 * MiB)));
  for (let i = 0; i < 5000 && written < bytes; i++) {
    if (i % 250 === 0) await mkdir(join(root, `small/d${i / 250}`), { recursive: true });
    const size = (i * 131) % 8192;
    await writeFile(join(root, `small/d${Math.floor(i / 250)}/s${i}.txt`), noise(size));
    written += size;
  }
  return written;
}

/**
 * Writes every dirty page out, so that no measured run pays for the writeback
 * of what ran before it (the generated tree before the first push, a restore
 * before restic's backup).
 */
function _sync(): Promise<void> {
  return new Promise((resolve) => spawn('sync', [], { stdio: 'ignore' }).on('exit', () => resolve()).on('error', () => resolve()));
}

/**
 * Runs a command under /usr/bin/time after a sync; returns its wall time in
 * seconds, start to exit, and its peak RSS in MiB, or null if it fails.
 */
async function _timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ seconds: number; peakMiB: number } | null> {
  await _sync();
  const start = performance.now();
  let stderr = '';
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn('/usr/bin/time', ['-f', 'maxrss=%M', cmd, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', () => resolve(null));
    child.on('exit', resolve);
  });
  const seconds = (performance.now() - start) / 1000;
  const m = /maxrss=(\d+)/.exec(stderr);
  if (code !== 0 || !m) return null;
  return { seconds, peakMiB: Number(m[1]) / 1024 };
}

/**
 * The quickest of three runs of `args` under Node, start to exit, in seconds;
 * null unless each exits with `status`.
 */
async function _quickest(args: string[], env: NodeJS.ProcessEnv, status: number): Promise<number | null> {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, args, { env, stdio: 'ignore' });
      child.on('error', () => resolve(null));
      child.on('exit', resolve);
    });
    if (code !== status) return null;
    best = Math.min(best, (performance.now() - start) / 1000);
  }
  return best;
}

/**
 * The command line's own start-up, which the children above skip: `cloudcoin
 * store pull` run with no passphrase (and no terminal to ask on) stops at its
 * first check with a usage error (2), once oclif and the command's modules are
 * loaded and before any work. Loading ink off a terminal once made this ~1 s.
 */
function _cliStartUp(): Promise<number | null> {
  const bin = fileURLToPath(new URL(_EXT === '.ts' ? '../bin/run.js' : '../../bin/run.js', import.meta.url));
  const env = { ...process.env };
  delete env.CLOUDCOIN_PASSPHRASE;
  return _quickest([bin, 'store', 'pull', 'latest', join(tmpdir(), 'cc-bench-unused')], env, 2);
}

/** The store library, for the child processes: the .ts source under tsx, the compiled .js otherwise. */
const _LIB = new URL('../src/lib/store/', import.meta.url).href;
const _EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/**
 * One push, pull or nothing ('open') in a process of its own: `op config.json
 * src out`. The config names the library, the key file and its passphrase,
 * the state directory and the hosts: file servers ({url, contractId,
 * secretKey}) or local directories ({dir}). What `cloudcoin store push` does
 * besides is oclif's start-up and asking the node for the contracts.
 */
const _CHILD = `
const [op, config, src, out] = process.argv.slice(2);
const c = JSON.parse(await (await import('node:fs/promises')).readFile(config, 'utf8'));
// As the store commands do (cli/store.ts, withStore): the key's derivation
// starts first, and the engine loads, the store opens and the push probes its
// hosts and walks its source while it runs.
(await import(c.lib + '../cli/heap' + c.ext)).tuneV8ForStore(op === 'push' ? 'upload' : 'read');
const keys = (await import(c.lib + 'keys' + c.ext)).openKey(c.keyFile, c.passphrase);
const { LocalBackend, Store } = await import(c.lib + 'index' + c.ext);
const { HostBackend } = await import(c.lib + 'backends/host' + c.ext);
const backends = c.hosts.map((h, i) => h.dir
  ? new LocalBackend('host' + i, h.dir)
  : new HostBackend({ name: 'host' + i, url: h.url, contractId: h.contractId, secretKey: Buffer.from(h.secretKey, 'hex'), retries: 1 }));
const store = await Store.open({ keys, backends, stateDir: c.state });
try {
  if (op === 'push') await store.push(src);
  else if (op === 'pull') await store.pull('latest', out);
  else await keys;
} finally {
  await store.close();
}
`;

type Timed = { seconds: number; peakMiB: number } | null;

interface Hosts {
  /** Config entries for the child: file servers or local directories. */
  entries: object[];
  stop(): Promise<void>;
}

/** Three file servers, each its own process with its own storage directory, for one renter. */
async function _fileServers(base: string): Promise<Hosts> {
  const contracts = [0, 1, 2].map(() => benchContract(randomBytes(32).toString('hex')));
  const neg = await fakeNegotiator(contracts);
  const servers: BenchServer[] = [];
  try {
    for (let i = 0; i < 3; i++) servers.push(await startFileServer(join(base, `server${i}`), neg.url));
  } catch (err) {
    await stopFileServers(servers);
    neg.server.close();
    throw err;
  }
  return {
    entries: servers.map((s, i) => ({ url: s.url, contractId: contracts[i].contractId, secretKey: Buffer.from(contracts[i].keys.secretKey).toString('hex') })),
    async stop() {
      await stopFileServers(servers);
      neg.server.close();
    },
  };
}

/**
 * Node's flags for the children: the bench's own but source maps, which the
 * command line tool does not enable and which cost start-up time (tsx's loader
 * stays, for a run from the .ts sources).
 */
const _CHILD_ARGV = process.execArgv.filter((a) => a !== '--enable-source-maps');

/**
 * Pushes then pulls `src` in child processes against `hosts`, under a key made
 * for them (not timed) as `store init` makes one; null figures if a child
 * failed. With `startUp`, then times a child that only opens the store.
 */
async function _ours(base: string, name: string, src: string, hosts: object[], startUp = false): Promise<{ push: Timed; pull: Timed; open: Timed }> {
  const dir = join(base, name);
  await mkdir(dir, { recursive: true });
  const keyFile = join(dir, 'key');
  const passphrase = randomBytes(16).toString('hex');
  await initKey(keyFile, passphrase);
  const config = join(dir, 'config.json');
  await writeFile(config, JSON.stringify({ lib: _LIB, ext: _EXT, keyFile, passphrase, state: join(dir, 'state'), hosts }));
  const script = join(dir, 'op.mjs');
  await writeFile(script, _CHILD);
  const child = (op: string) => _timed(process.execPath, [..._CHILD_ARGV, script, op, config, src, join(dir, 'out')], process.env);
  const push = await child('push');
  const pull = push && (await child('pull'));
  // Last, so that the push still starts from no local index, as a first push does.
  const open = startUp && pull ? await child('open') : null;
  return { push, pull, open };
}

/** `restic backup` then `restic restore` of `src` to a local repository. */
async function _restic(base: string, src: string, round: number): Promise<{ push: Timed; pull: Timed; open: Timed }> {
  const env = { ...process.env, RESTIC_PASSWORD: 'bench', RESTIC_REPOSITORY: join(base, `restic${round}`) };
  const init = await _timed('restic', ['init'], env);
  const push = init && (await _timed('restic', ['backup', '--quiet', src], env));
  const pull = push && (await _timed('restic', ['restore', 'latest', '--target', join(base, `restic-out${round}`)], env));
  const open = pull && (await _timed('restic', ['cat', 'config'], env));
  return { push, pull, open };
}

/** Size of the tree the file servers are warmed up with. */
const _WARM_MB = 128;

/**
 * A file server is a daemon: by the time a renter's cron job pushes, it has
 * served others and V8 has compiled its request path. Fresh, the three of them
 * spent a third of their CPU on compiling and a first garbage collection
 * during the measured push, on the cores the client runs on. So before the
 * measured runs they store and serve a tree under another key (nothing of it
 * is shared with the measured data, whose ids are keyed). The client is
 * measured cold, as a cron run is. How much warms them (the three servers'
 * CPU for a 250 MB push after each warm-up, two runs each, 2026-12-05): none
 * 3.2 CPU-s, 24 MB 2.0-2.1, 64 MB 1.8-1.9, 128 MB 1.5-1.7, and after a whole
 * 250 MB push 1.5-1.8: 24 MB, the size until then, left them half warm.
 */
async function _warmUp(base: string, hosts: object[]): Promise<void> {
  const src = join(base, 'warm-src');
  await _mixedTree(src, _WARM_MB * 1e6);
  const warm = await _ours(base, 'warm', src, hosts);
  if (!warm.push || !warm.pull) throw new Error('the warm-up push or pull failed');
}

const _rate = (size: number, r: Timed) => (r ? size / r.seconds : NaN);
const _ref = (name: string, value: number, unit: string) => ({ name, value, unit });

/** The median of the figures that are there, or null if none is. */
function _median(xs: number[]): number | null {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return null;
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Per measure, the median time and the highest peak over the rounds; null if any round failed. */
function _summary(runs: Timed[]): Timed {
  if (runs.some((r) => r === null)) return null;
  return { seconds: _median(runs.map((r) => r!.seconds))!, peakMiB: Math.max(...runs.map((r) => r!.peakMiB)) };
}

const _secs = (r: Timed) => (r ? `${r.seconds.toFixed(2)} s` : 'failed');

/**
 * Push, pull and peak memory on a generated tree of `treeMB` under `base`, to 3
 * file servers (and local directories), beside restic: `rounds` rounds, ours
 * then restic's, each from nothing (a new key and local index, a new
 * repository), and per figure the median (memory: the highest). One run each
 * swung by 10-20% from one minute to the next on this machine, more than
 * the difference measured. Deletes nothing: see _run.
 */
async function _treeRun(base: string, treeMB: number, withLocal: boolean, rounds: number): Promise<Figure[]> {
  const hosts = await _fileServers(base);
  try {
    const src = join(base, 'src');
    const size = (await _mixedTree(src, treeMB * 1e6)) / 1e6;
    await _warmUp(base, hosts.entries);
    const runs: { ours: Awaited<ReturnType<typeof _ours>>; restic: Awaited<ReturnType<typeof _restic>> }[] = [];
    for (let r = 0; r < rounds; r++) {
      // Restic first in every other round: what slows the disk and fades during a run (see
      // the top of this file) would otherwise fall on our rounds each time.
      const resticFirst = r % 2 === 1 ? await _restic(base, src, r) : null;
      const ours = await _ours(base, `hosts${r}`, src, hosts.entries, /* startUp */ withLocal);
      if (!ours.push || !ours.pull) throw new Error('the push or pull child process failed');
      const restic = resticFirst ?? (await _restic(base, src, r));
      runs.push({ ours, restic });
      process.stderr.write(`  ${Math.round(size)} MB, round ${r + 1} of ${rounds}: push ${_secs(ours.push)} (restic ${_secs(restic.push)}), pull ${_secs(ours.pull)} (restic ${_secs(restic.pull)})\n`);
    }
    const ours = { push: _summary(runs.map((x) => x.ours.push)), pull: _summary(runs.map((x) => x.ours.pull)), open: _summary(runs.map((x) => x.ours.open)) };
    const restic = { push: _summary(runs.map((x) => x.restic.push)), pull: _summary(runs.map((x) => x.restic.pull)), open: _summary(runs.map((x) => x.restic.open)) };
    const mb = Math.round(size);
    const figures: Figure[] = [
      { name: `push ${mb} MB mixed tree, 3 local hosts (2-of-3)`, value: _rate(size, ours.push), unit: 'MB/s', reference: _ref('restic backup, local repo', _rate(size, restic.push), 'MB/s') },
      { name: `push ${mb} MB peak RSS`, value: ours.push?.peakMiB ?? NaN, unit: 'MiB', reference: _ref('restic backup', restic.push?.peakMiB ?? NaN, 'MiB') },
      { name: `pull ${mb} MB mixed tree from 3 local hosts`, value: _rate(size, ours.pull), unit: 'MB/s', reference: _ref('restic restore', _rate(size, restic.pull), 'MB/s') },
      { name: `pull ${mb} MB peak RSS`, value: ours.pull?.peakMiB ?? NaN, unit: 'MiB', reference: _ref('restic restore', restic.pull?.peakMiB ?? NaN, 'MiB') },
    ];
    if (withLocal) {
      figures.push({
        name: '  start-up alone: key from passphrase, store opened, no push',
        value: ours.open?.seconds ?? NaN,
        unit: 's',
        reference: _ref('restic cat config', restic.open?.seconds ?? NaN, 's'),
      });
      figures.push({
        name: '  command line start-up: store pull to its first check, no work',
        value: (await _cliStartUp()) ?? NaN,
        unit: 's',
        reference: _ref('node -e 0', (await _quickest(['-e', '0'], process.env, 0)) ?? NaN, 's'),
      });
      // The engine without HTTP: the same tree to 3 local directories.
      const dirs = [0, 1, 2].map((i) => ({ dir: join(base, `dir${i}`) }));
      const local = await _ours(base, 'dirs', src, dirs);
      figures.push(
        { name: `  same push, 3 local directories instead of hosts`, value: _rate(size, local.push), unit: 'MB/s' },
        { name: `  same pull, 3 local directories instead of hosts`, value: _rate(size, local.pull), unit: 'MB/s' },
      );
    }
    return figures;
  } finally {
    await hosts.stop();
  }
}

/**
 * Refuses to start without the room a run takes, since it deletes nothing
 * until the end: per tree its source and the local directories' copy and
 * restore (~3.5x), and per round the hosts' 1.5x, our restore, restic's
 * repository and restore (~4.5x), and the warm-up tree's source, shards and
 * restore. A disk that filled midway failed a child process with no word of why.
 */
async function _checkRoom(dir: string, treeMB: number, bigMB: number, rounds: number): Promise<void> {
  const needMB = (3.5 + 4.5 * rounds) * (treeMB + bigMB) + 2 * 3.5 * _WARM_MB;
  const { bavail, bsize } = await statfs(dir);
  const freeMB = (bavail * bsize) / 1e6;
  if (freeMB < needMB) {
    throw new Error(`the store bench needs ~${(needMB / 1000).toFixed(1)} GB free under ${dir}, and ${(freeMB / 1000).toFixed(1)} GB are: free some, or set CC_BENCH_STORE_BIG_MB=0 or smaller sizes`);
  }
}

async function _run(): Promise<Figure[]> {
  const treeMB = _envMB('CC_BENCH_STORE_MB', 250);
  const bigMB = _envMB('CC_BENCH_STORE_BIG_MB', 2000, true);
  const pipelineMB = _envMB('CC_BENCH_PIPELINE_MB', 256);
  const rounds = _envCount('CC_BENCH_STORE_ROUNDS', 3);
  await _checkRoom(tmpdir(), treeMB, bigMB, rounds);
  const keys = new StoreKeys(randomBytes(32));
  // Every tree, copy and restore stays until the end. On ext4 without a journal
  // (this machine's file system) creating a file first skips every inode freed
  // in the last minute or more (`recently_deleted`), one look-up each: a restore
  // right after a large delete ran at a third of its speed, whichever tool it was.
  const base = await mkdtemp(join(tmpdir(), 'cc-bench-store-'));
  try {
    const figures = await _treeRun(join(base, 'tree'), treeMB, true, rounds);
    // Memory must not grow with the data: the same run on a tree 8x the size.
    if (bigMB > 0) figures.push(...(await _treeRun(join(base, 'big'), bigMB, false, rounds)));
    const total = pipelineMB * 1e6;
    const limit = _ref('node:crypto chacha20-poly1305 + sha256', aeadShaRate(total), 'MB/s');
    figures.push(
      { name: 'pipeline as push runs it (main thread + sector worker)', value: await pipelineRate(keys, total, true), unit: 'MB/s', reference: limit },
      { name: 'pipeline on one thread', value: await pipelineRate(keys, total, false), unit: 'MB/s', reference: limit },
    );
    return figures;
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

export const storeBench: BenchSuite = { name: 'store', run: _run };
