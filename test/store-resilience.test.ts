/**
 * The store engine when things go wrong: hosts that lie, hosts that are down,
 * a push killed half way, operations interrupted (their AbortSignal), two runs
 * at once, and the history operations that delete data (forget, prune) and
 * the one that checks it.
 */
import test, { type ExecutionContext } from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { CloudCoinError, ExitCode } from '../src/lib/errors.js';
import { type Backend, BackendError, LocalBackend, Store, StoreKeys } from '../src/lib/store/index.js';
import { mountTmpfs, tmpfsUnavailable, unmount } from './util/mount.js';
import { walkTree } from './util/tree.js';

/** Wraps a backend; `mode` decides per call whether it works, is down, or lies about contents. */
class Faulty implements Backend {
  mode: 'ok' | 'down' | 'corrupt' = 'ok';
  /** Puts that fail (unavailable) before puts start working again. */
  failPuts = 0;
  /** Deletes that fail (unavailable) before deletes start working again. */
  failDeletes = 0;
  /** Called after each put, get or delete that succeeded. */
  done?: (op: 'put' | 'get' | 'delete') => void;
  constructor(readonly inner: Backend) {}
  get name() {
    return this.inner.name;
  }
  private _check(): void {
    if (this.mode === 'down') throw new BackendError('unavailable', this.name, 'connection refused');
  }
  async put(id: string, data: Uint8Array) {
    this._check();
    if (this.failPuts > 0) {
      this.failPuts--;
      throw new BackendError('unavailable', this.name, 'timeout');
    }
    await this.inner.put(id, data);
    this.done?.('put');
  }
  async get(id: string) {
    this._check();
    const data = Buffer.from(await this.inner.get(id));
    if (this.mode === 'corrupt' && data.length > 0) data[data.length >> 1] ^= 0xff;
    this.done?.('get');
    return data;
  }
  async has(id: string) {
    this._check();
    return this.inner.has(id);
  }
  async delete(id: string) {
    this._check();
    if (this.failDeletes > 0) {
      this.failDeletes--;
      throw new BackendError('unavailable', this.name, 'timeout');
    }
    await this.inner.delete(id);
    this.done?.('delete');
  }
  async *list() {
    this._check();
    yield* this.inner.list();
  }
}

interface Setup {
  base: string;
  master: Buffer;
  hosts: Faulty[];
  dirs: string[];
  open(stateDir?: string): Promise<Store>;
}

async function setup(t: ExecutionContext, n = 3): Promise<Setup> {
  const base = await mkdtemp(join(tmpdir(), 'cc-resil-'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const master = randomBytes(32);
  const dirs = Array.from({ length: n }, (_, i) => join(base, `host${i}`));
  const hosts = dirs.map((d, i) => new Faulty(new LocalBackend(`host${i}`, d, { sync: false })));
  const open = async (stateDir = 'state') => {
    const s = await Store.open({ keys: new StoreKeys(master), backends: hosts, stateDir: join(base, stateDir), retryDelayMs: 1 });
    t.teardown(() => s.close());
    return s;
  };
  return { base, master, hosts, dirs, open };
}

/** Files under `dir` with their sizes; a file renamed away while we look (a temp file of a running push) is skipped. */
async function sizes(dir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const name of await readdir(dir, { recursive: true }).catch(() => [] as string[])) {
    const st = await stat(join(dir, name)).catch(() => null);
    if (st?.isFile()) out.set(join(dir, name), st.size);
  }
  return out;
}

async function files(dir: string): Promise<string[]> {
  return [...(await sizes(dir)).keys()];
}

async function du(dirs: string[]): Promise<number> {
  let n = 0;
  for (const d of dirs) for (const size of (await sizes(d)).values()) n += size;
  return n;
}

/** A controller aborted (with `reason`, if given) once the hosts have done `count` of `op` in all. */
function abortAfter(hosts: Faulty[], op: 'put' | 'get' | 'delete', count: number, reason?: unknown): AbortController {
  const controller = new AbortController();
  let seen = 0;
  for (const h of hosts) {
    h.done = (o) => {
      if (o === op && ++seen === count) controller.abort(reason);
    };
  }
  return controller;
}

function stopWatching(hosts: Faulty[]): void {
  for (const h of hosts) h.done = undefined;
}

test('a host returning corrupted bytes is detected, named, and routed around', async (t) => {
  const s = await setup(t);
  const src = join(s.base, 'src');
  await mkdir(src);
  const content = randomBytes(3_000_000);
  await writeFile(join(src, 'data.bin'), content);
  const store = await s.open();
  await store.push(src);
  // The host holding data shard 0 of the file's sector is the one a pull asks first.
  const snap = await store.snapshot('latest');
  const liar = snap.sectors.find((x) => x.id === snap.tree[0].chunks![0][1])!.shards[0][1];
  const dir = s.dirs[Number(liar.slice(4))];
  for (const f of await files(dir)) {
    const bytes = await readFile(f);
    bytes[bytes.length >> 1] ^= 0x55;
    await writeFile(f, bytes);
  }
  // A second machine (empty state): manifests come from the hosts too, and host `liar` lies about those as well.
  const fresh = await s.open('state2');
  const res = await fresh.pull('latest', join(s.base, 'out'));
  t.deepEqual(res.errors, []);
  t.true((await readFile(join(s.base, 'out/data.bin'))).equals(content));
  t.true(res.corrupt.length > 0);
  t.deepEqual([...new Set(res.corrupt.map((c) => c.backend))], [liar]);
  const check = await fresh.check({ readData: true });
  t.false(check.ok);
  t.true(check.corrupt.length > 0);
  t.true(check.corrupt.every((c) => c.backend === liar));
  t.deepEqual(check.unreadable, []);
});

test('a marker file\'s plaintext and name appear nowhere in any host\'s storage', async (t) => {
  const s = await setup(t);
  const src = join(s.base, 'src');
  const tag = randomBytes(8).toString('hex');
  const name = `MARKER-${tag}.txt`;
  const dirName = `secret-dir-${tag}`;
  const plaintext = `PLAINTEXT-${tag}`;
  await mkdir(join(src, dirName), { recursive: true });
  await writeFile(join(src, dirName, name), `${plaintext}\n`.repeat(5000));
  await writeFile(join(src, 'other'), randomBytes(100_000));
  const store = await s.open();
  await store.push(src, { tags: [`tag-${tag}`] });
  const stored = (await Promise.all(s.dirs.map(files))).flat();
  t.true(stored.length >= 6);
  for (const f of stored) {
    const bytes = await readFile(f);
    for (const needle of [name, dirName, plaintext, tag]) {
      t.false(bytes.includes(needle), `${needle} found in ${f}`);
      t.false(f.includes(needle));
    }
  }
});

test('shards go one per host; pull survives a host that is down; a put that times out is retried', async (t) => {
  const s = await setup(t);
  const src = join(s.base, 'src');
  await mkdir(src);
  await writeFile(join(src, 'a'), randomBytes(5_000_000));
  s.hosts[2].failPuts = 2;
  const store = await s.open();
  const { snapshot } = await store.push(src);
  for (const sector of (await store.snapshot(snapshot)).sectors) t.is(new Set(sector.shards.map((x) => x[1])).size, 3);
  s.hosts[0].mode = 'down';
  const res = await store.pull(snapshot, join(s.base, 'out'));
  t.deepEqual(res.errors, []);
  t.true((await readFile(join(s.base, 'out/a'))).equals(await readFile(join(src, 'a'))));
});

test('a file whose sector is lost on too many hosts is reported; the rest is restored', async (t) => {
  const s = await setup(t);
  const src = join(s.base, 'src');
  await mkdir(src);
  await writeFile(join(src, 'a-lost'), randomBytes(5_000_000));
  await writeFile(join(src, 'b-kept'), 'small and safe');
  const store = await s.open();
  const { snapshot } = await store.push(src);
  const snap = await store.snapshot(snapshot);
  // Remove two of the three shards of a sector of the 5 MB file (it spans two sectors)
  // that does not hold b-kept: below k = 2.
  const kept = snap.tree.find((e) => e.path === 'b-kept')!.chunks![0][1];
  const lost = snap.tree.find((e) => e.path === 'a-lost')!.chunks!.map((c) => c[1]).find((id) => id !== kept)!;
  t.truthy(lost);
  for (const [shard, host] of snap.sectors.find((x) => x.id === lost)!.shards.slice(0, 2)) {
    await rm(join(s.dirs[Number(host.slice(4))], shard.slice(0, 2), shard));
  }
  const res = await store.pull(snapshot, join(s.base, 'out'));
  t.is(res.errors.length, 1);
  t.regex(res.errors[0], /^a-lost: sector [0-9a-f]+: only 1 of 2 needed shards available/);
  t.is(await readFile(join(s.base, 'out/b-kept'), 'utf8'), 'small and safe');
  t.deepEqual((await readdir(join(s.base, 'out'))).sort(), ['b-kept']);
});

test('special files are skipped and reported, not stored', async (t) => {
  const s = await setup(t);
  const src = join(s.base, 'src');
  await mkdir(src);
  await writeFile(join(src, 'plain'), 'x');
  execFileSync('mkfifo', [join(src, 'pipe')]);
  const store = await s.open();
  const res = await store.push(src);
  t.deepEqual(res.skipped, ['pipe: not a file, directory or link']);
  t.deepEqual((await store.ls(res.snapshot)).map((e) => e.path), ['plain']);
});

test('a host that answers the probe, then fails every upload, makes push fail with EUPLOAD; the next push completes', async (t) => {
  const s = await setup(t);
  const src = join(s.base, 'src');
  await mkdir(src);
  await writeFile(join(src, 'a'), randomBytes(2_000_000));
  const store = await s.open();
  s.hosts[1].failPuts = Infinity;
  const err = await t.throwsAsync(store.push(src), { instanceOf: CloudCoinError });
  t.is(err?.code, 'EUPLOAD');
  t.is(err?.exitCode, ExitCode.partial);
  t.deepEqual(await store.snapshots(), []);
  s.hosts[1].failPuts = 0;
  const ok = await store.push(src);
  t.is((await store.snapshots())[0].id, ok.snapshot);
  t.true((await store.check({ readData: true })).ok);
});

test('two runs never collide: the second open is refused while the first holds the lock', async (t) => {
  const s = await setup(t);
  const first = await s.open();
  const err = await t.throwsAsync(s.open(), { instanceOf: CloudCoinError });
  t.is(err?.code, 'ELOCKED');
  t.is(err?.exitCode, ExitCode.conflict);
  t.regex(err!.message, new RegExp(`pid ${process.pid}`));
  await first.close();
  await t.notThrowsAsync(async () => (await s.open()).close());
});

test('kill -9 during a push, then push again: it completes without re-uploading acknowledged shards, and check --read-data is clean', async (t) => {
  const s = await setup(t);
  const src = join(s.base, 'src');
  await mkdir(src);
  const size = 8 * 1024 * 1024;
  for (let i = 0; i < 6; i++) await writeFile(join(src, `f${i}`), randomBytes(size));
  const script = join(s.base, 'child.mts');
  const lib = resolve('src/lib/store/index.js');
  // Once a third of the ~72 MiB of shards is stored, the next upload hangs (as on a
  // stalled link) and the child says so: the kill then lands mid-push on any machine,
  // where polling the hosts' directories raced a fast push to its end.
  await writeFile(
    script,
    `import { LocalBackend, Store, StoreKeys } from ${JSON.stringify(lib)};
const dirs = ${JSON.stringify(s.dirs)};
let stored = 0;
class Stalling extends LocalBackend {
  async put(id, data, sha256) {
    if (stored >= 24 * 1024 * 1024) {
      process.stdout.write('stalled\\n');
      await new Promise(() => setInterval(() => undefined, 1000));
    }
    await super.put(id, data, sha256);
    stored += data.length;
  }
}
const store = await Store.open({ keys: new StoreKeys(Buffer.from(process.env.MASTER, 'hex')), stateDir: ${JSON.stringify(join(s.base, 'state'))},
  backends: dirs.map((d, i) => new Stalling('host' + i, d, { sync: false })), parallel: 1 });
await store.push(${JSON.stringify(src)});
`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, MASTER: s.master.toString('hex') }, stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = new Promise((r) => child.on('exit', r));
  const stalled = await Promise.race([
    new Promise<boolean>((r) => child.stdout.on('data', (d: Buffer) => d.toString().includes('stalled') && r(true))),
    exited.then(() => false),
  ]);
  child.kill('SIGKILL');
  await exited;
  t.true(stalled, 'the child ended before a third of its shards were stored');
  const atKill = await du(s.dirs);
  t.true(atKill >= 24 * 1024 * 1024 && atKill < 60 * 1024 * 1024, `${atKill} bytes of shards stored at the kill`);

  const store = await s.open();
  const again = await store.push(src);
  const total = (6 * size * 3) / 2;
  // What was acknowledged before the kill is not sent again (a sector or two in flight may be).
  t.true(again.uploaded < total - atKill + 10 * 1024 * 1024, `second push uploaded ${again.uploaded}, ${atKill} were already stored`);
  const check = await store.check({ readData: true });
  t.true(check.ok, JSON.stringify(check));
  await store.pull('latest', join(s.base, 'out'));
  for (let i = 0; i < 6; i++) t.true((await readFile(join(s.base, `out/f${i}`))).equals(await readFile(join(src, `f${i}`))));
});

test('a pull interrupted (SIGTERM\'s reason) stops with one error, exit 143, leaves no temp file and only whole files; the next pull restores it all', async (t) => {
  const s = await setup(t);
  const src = join(s.base, 'src');
  await mkdir(join(src, 'small'), { recursive: true });
  for (let i = 0; i < 6; i++) await writeFile(join(src, `big${i}.bin`), randomBytes(3_000_000));
  for (let i = 0; i < 40; i++) await writeFile(join(src, `small/s${i}.txt`), randomBytes(2_000));
  const wanted = (await walkTree(src)).entries;
  const store = await s.open();
  const { snapshot } = await store.push(src);
  const sectors = (await store.snapshot(snapshot)).sectors.length;
  t.true(sectors >= 4, `${sectors} sectors`);
  // The reason withStore aborts with on SIGTERM. Two sectors' shards in: the restore is under way, far from done.
  const reason = new CloudCoinError('EINTERRUPTED', 'interrupted (SIGTERM)', ExitCode.terminated);
  const stop = abortAfter(s.hosts, 'get', 4, reason);
  const target = join(s.base, 'target');
  const err = await t.throwsAsync(store.pull(snapshot, target, { signal: stop.signal }), { instanceOf: CloudCoinError, code: 'EINTERRUPTED' });
  stopWatching(s.hosts);
  t.is(err!.exitCode, ExitCode.terminated);
  const [, restored, all] = /^interrupted \(SIGTERM\): (\d+) of (\d+) entries restored under (.+); pull again to finish$/.exec(err!.message) ?? [];
  t.truthy(restored, err!.message);
  t.true(Number(restored) < Number(all), `${restored} of ${all} entries restored: the pull was interrupted before its end`);
  // At once: every file in flight has ended, its temp file removed.
  t.deepEqual((await readdir(target, { recursive: true })).filter((n) => n.includes('.cc-restore-')), [], 'no temp file left');
  const got = Object.entries((await walkTree(target)).entries).filter(([, e]) => e.type === 'file');
  t.true(got.length < Object.values(wanted).filter((e) => e.type === 'file').length);
  for (const [rel, e] of got) t.is(e.content, wanted[rel].content, `${rel} is whole`);
  // Closed cleanly (the lock released): another store opens on the same state and finishes the job.
  await store.close();
  const again = await s.open();
  const res = await again.pull(snapshot, target);
  t.deepEqual(res.errors, []);
  t.deepEqual((await walkTree(target)).entries, wanted);
});

test('pull --stdout interrupted ends the tar stream short with one error saying how many entries were sent', async (t) => {
  const s = await setup(t);
  const src = join(s.base, 'src');
  await mkdir(src);
  for (let i = 0; i < 4; i++) await writeFile(join(src, `f${i}`), randomBytes(3_000_000));
  const store = await s.open();
  const { snapshot } = await store.push(src);
  const stop = abortAfter(s.hosts, 'get', 2);
  const sink = new PassThrough().resume();
  const err = await t.throwsAsync(store.pullTar(snapshot, sink, { signal: stop.signal }), { instanceOf: CloudCoinError, code: 'EINTERRUPTED' });
  stopWatching(s.hosts);
  t.is(err!.exitCode, ExitCode.interrupted);
  t.regex(err!.message, /^interrupted: [0-3] of 4 entries sent; the tar stream is cut short$/);
});

test('a push interrupted mid-way writes no snapshot; pushing again sends only what the hosts had not taken, and check --read-data is clean', async (t) => {
  const s = await setup(t);
  const src = join(s.base, 'src');
  await mkdir(src);
  for (let i = 0; i < 6; i++) await writeFile(join(src, `f${i}`), randomBytes(4 * 1024 * 1024));
  const stateDir = join(s.base, 'state');
  // One sector uploading at a time, as in the kill -9 test: what is on the hosts is then what they acknowledged, give or take one sector.
  const store = await Store.open({ keys: new StoreKeys(s.master), backends: s.hosts, stateDir, retryDelayMs: 1, parallel: 1 });
  // Two sectors' shards stored (3 each): a third of the ~36 MiB of shards.
  const stop = abortAfter(s.hosts, 'put', 6);
  const err = await t.throwsAsync(store.push(src, { signal: stop.signal }), { instanceOf: CloudCoinError, code: 'EINTERRUPTED' });
  stopWatching(s.hosts);
  t.is(err!.exitCode, ExitCode.interrupted);
  t.is(err!.message, 'interrupted: no snapshot written; what the hosts took is kept, and the next push does not send it again');
  await store.close();
  // A sector sealed before the push stopped may still be reaching the hosts.
  let atAbort = await du(s.dirs);
  for (let before = -1; before !== atAbort; ) {
    before = atAbort;
    await new Promise((r) => setTimeout(r, 200));
    atAbort = await du(s.dirs);
  }
  const total = (6 * 4 * 1024 * 1024 * 3) / 2;
  const sector = 7 * 1024 * 1024;
  t.true(atAbort > 0 && atAbort < total - sector, `${atAbort} of ${total} bytes of shards stored before the push stopped`);

  const again = await s.open();
  t.deepEqual(await again.snapshots(), [], 'no snapshot was written');
  const done = await again.push(src);
  t.true(done.uploaded < total - atAbort + sector, `second push uploaded ${done.uploaded}, ${atAbort} were already stored`);
  const check = await again.check({ readData: true });
  t.true(check.ok, JSON.stringify(check));
  await again.pull('latest', join(s.base, 'out'));
  t.deepEqual(await walkTree(join(s.base, 'out')), await walkTree(src));
});

test('check, forget and prune interrupted stop with EINTERRUPTED saying how far they got; prune\'s local index never points at deleted shards', async (t) => {
  const s = await setup(t);
  const src = join(s.base, 'src');
  await mkdir(src);
  await writeFile(join(src, 'keep'), randomBytes(3_000_000));
  const gone = randomBytes(6_000_000);
  await writeFile(join(src, 'gone'), gone);
  const store = await s.open();
  const a = await store.push(src);
  await rm(join(src, 'gone'));
  const b = await store.push(src);
  await writeFile(join(src, 'more'), randomBytes(100_000));
  const c = await store.push(src);

  let stop = abortAfter(s.hosts, 'get', 1);
  let err = await t.throwsAsync(store.check({ readData: true, signal: stop.signal }), { instanceOf: CloudCoinError, code: 'EINTERRUPTED' });
  t.regex(err!.message, /^interrupted: \d+ of \d+ sectors checked, nothing changed$/);
  stopWatching(s.hosts);
  t.true((await store.check({ readData: true })).ok);

  stop = abortAfter(s.hosts, 'delete', 1);
  err = await t.throwsAsync(store.forget({ snapshots: [a.snapshot, b.snapshot], signal: stop.signal }), { instanceOf: CloudCoinError, code: 'EINTERRUPTED' });
  stopWatching(s.hosts);
  t.is(err!.message, 'interrupted: 1 of 2 snapshots forgotten; forget again to finish');
  t.deepEqual((await store.snapshots()).map((x) => x.id), [b.snapshot, c.snapshot]);
  t.deepEqual((await store.forget({ snapshots: [b.snapshot] })).removed, [b.snapshot]);

  // 'gone' is only in the forgotten snapshots: prune deletes its sectors' shards, and stops after the first.
  stop = abortAfter(s.hosts, 'delete', 1);
  err = await t.throwsAsync(store.prune({ signal: stop.signal }), { instanceOf: CloudCoinError, code: 'EINTERRUPTED' });
  stopWatching(s.hosts);
  t.regex(err!.message, /^interrupted: objects deleted: \d+; the local index is updated; prune again to finish$/);
  // The index forgot the dead sectors though some of their shards remain: 'gone' pushed again is stored again,
  // not taken from a sector prune has begun to delete. (Its last chunks share a live sector with 'keep'.)
  await writeFile(join(src, 'gone'), gone);
  t.true((await store.push(src)).newBytes > 3_000_000);
  t.true((await store.check({ readData: true })).ok);
  t.true((await store.prune()).deleted > 0, 'prune again finishes the job');
  t.true((await store.check({ readData: true })).ok);
  await store.pull('latest', join(s.base, 'out'));
  t.true((await readFile(join(s.base, 'out/gone'))).equals(gone));
});

test('forget with keep-last, then prune, deletes exactly the data no snapshot needs', async (t) => {
  const s = await setup(t);
  const src = join(s.base, 'src');
  await mkdir(src);
  await writeFile(join(src, 'keep'), randomBytes(3_000_000));
  const goneLater = randomBytes(5_000_000);
  await writeFile(join(src, 'gone-later'), goneLater);
  const store = await s.open();
  const a = await store.push(src);
  await writeFile(join(src, 'gone-too'), randomBytes(5_000_000));
  const b = await store.push(src);
  await rm(join(src, 'gone-later'));
  await rm(join(src, 'gone-too'));
  const c = await store.push(src);
  const full = await du(s.dirs);

  t.deepEqual((await store.forget({ snapshots: [a.snapshot.slice(0, 8)] })).removed, [a.snapshot]);
  s.hosts[0].mode = 'down';
  const { removed, kept, warnings } = await store.forget({ keepLast: 1 });
  t.deepEqual(removed, [b.snapshot]);
  t.deepEqual(kept, [c.snapshot]);
  t.true(warnings.length === 1 && warnings[0].startsWith('host0'));
  // host0 still holds b's header, so b is listed again once host0 is back; forgetting again finishes the job.
  s.hosts[0].mode = 'ok';
  t.deepEqual((await store.snapshots()).map((x) => x.id).sort(), [b.snapshot, c.snapshot].sort());
  t.deepEqual((await store.forget({ keepLast: 1 })).warnings, []);
  t.deepEqual((await store.snapshots()).map((x) => x.id), [c.snapshot]);

  s.hosts[2].mode = 'down';
  await t.throwsAsync(store.prune(), { instanceOf: CloudCoinError, message: /host2 unavailable/ });
  s.hosts[2].mode = 'ok';
  const pruned = await store.prune();
  t.true(pruned.deleted > 0);
  const after = await du(s.dirs);
  // ~10 MB of content went, stored at 1.5x; prune deletes whole sectors only, so
  // up to one sector (~6 MB of shards) shared with the kept file stays.
  t.true(full - after > 15_000_000 - 6_400_000, `freed ${full - after}`);
  t.true(after > 4_500_000);
  t.true((await store.check({ readData: true })).ok);
  await store.pull('latest', join(s.base, 'out'));
  t.deepEqual(await readdir(join(s.base, 'out')), ['keep']);
  // The local index forgot the pruned chunks too: the file comes back, so its chunks
  // must be stored again rather than referenced in sectors that no longer exist.
  await writeFile(join(src, 'gone-later'), goneLater);
  t.true((await store.push(src)).newBytes > 1_000_000);
  t.true((await store.check({ readData: true })).ok);
});

test('check names a missing shard and its host', async (t) => {
  const s = await setup(t);
  const src = join(s.base, 'src');
  await mkdir(src);
  await writeFile(join(src, 'a'), randomBytes(1_000_000));
  const store = await s.open();
  const { snapshot } = await store.push(src);
  t.true((await store.check()).ok);
  const [shard] = (await store.snapshot(snapshot)).sectors[0].shards.find(([, host]) => host === 'host1')!;
  await rm(join(s.dirs[1], shard.slice(0, 2), shard));
  const res = await store.check();
  t.false(res.ok);
  t.deepEqual(res.missing, [{ backend: 'host1', shard }]);
});

const mountError = tmpfsUnavailable();

(mountError === null ? test : test.skip)(`a pull onto a full disk stops with one clear error; every file is whole, old or new, and no temp file is left${mountError ? ` (skipped: cannot mount a tmpfs: ${mountError})` : ''}`, async (t) => {
  const s = await setup(t);
  const src = join(s.base, 'src');
  await mkdir(join(src, 'small'), { recursive: true });
  const files = new Map<string, Buffer>();
  for (let i = 0; i < 6; i++) files.set(`big${i}.bin`, randomBytes(3_000_000));
  for (let i = 0; i < 40; i++) files.set(`small/s${i}.txt`, randomBytes(2_000));
  for (const [rel, data] of files) await writeFile(join(src, rel), data);
  const store = await s.open();
  await store.push(src);
  // 8 MiB holds about two of the six big files: the restore fills it part way through.
  const target = join(s.base, 'target');
  await mkdir(target);
  t.is(mountTmpfs(target, '8m'), null);
  t.teardown(() => unmount(target));
  await mkdir(join(target, 'small'));
  for (const rel of files.keys()) await writeFile(join(target, rel), `old ${rel}`);
  const err = await t.throwsAsync(store.pull('latest', target), { instanceOf: CloudCoinError, code: 'ENOSPC' });
  // At once: the files still being written when the disk filled must have ended before pull did.
  t.deepEqual((await readdir(target, { recursive: true })).filter((n) => n.includes('.cc-restore-')), [], 'no temp file left');
  t.is(err!.exitCode, ExitCode.failure);
  t.regex(err!.message, /^disk full: ".+" could not be written under .+ \(\d+ of \d+ entries restored\); free space and pull again$/);
  let restored = 0;
  for (const [rel, data] of files) {
    const now = await readFile(join(target, rel));
    if (now.equals(data)) restored++;
    else t.is(now.toString(), `old ${rel}`, `${rel} is either the snapshot's or what was there`);
  }
  t.true(restored > 0 && restored < files.size, `${restored} of ${files.size} files restored before the disk filled`);
});

(mountError === null ? test : test.skip)(`a push whose local index fills the disk stops with one clear error; with space again, the next push completes and checks clean${mountError ? ` (skipped: cannot mount a tmpfs: ${mountError})` : ''}`, async (t) => {
  const s = await setup(t);
  const src = join(s.base, 'src');
  await mkdir(src);
  const files = new Map<string, Buffer>();
  for (let i = 0; i < 2000; i++) files.set(`f${i}`, randomBytes(300));
  for (const [rel, data] of files) await writeFile(join(src, rel), data);
  // The index of 2,000 chunks takes ~0.7 MB; 256 KiB left fills during the push.
  const state = join(s.base, 'state');
  await mkdir(state);
  t.is(mountTmpfs(state, '4m'), null);
  t.teardown(() => unmount(state));
  const { bavail, bsize } = await statfs(state);
  await writeFile(join(state, 'filler'), Buffer.alloc(bavail * bsize - 256 * 1024));
  const first = await s.open();
  const err = await t.throwsAsync(first.push(src), { instanceOf: CloudCoinError, code: 'ENOSPC' });
  t.is(err!.exitCode, ExitCode.failure);
  t.regex(err!.message, /^disk full: the local index in .+ could not be written; free space and run the command again \(nothing stored on the hosts is lost\)$/);
  await first.close();
  await rm(join(state, 'filler'));
  const store = await s.open();
  const res = await store.push(src);
  t.is(res.files, files.size);
  const check = await store.check({ readData: true });
  t.true(check.ok, JSON.stringify(check));
  await store.pull('latest', join(s.base, 'out'));
  for (const [rel, data] of files) t.true((await readFile(join(s.base, 'out', rel))).equals(data), rel);
});

(mountError === null ? test : test.skip)(`a store opened on a full disk is one clear error and leaves no lock behind; with space again it opens${mountError ? ` (skipped: cannot mount a tmpfs: ${mountError})` : ''}`, async (t) => {
  const s = await setup(t);
  const state = join(s.base, 'state');
  await mkdir(state);
  t.is(mountTmpfs(state, '1m'), null);
  t.teardown(() => unmount(state));
  // Every block taken: a new file can still be created, its first byte not written.
  const { bavail, bsize } = await statfs(state);
  await writeFile(join(state, 'filler'), Buffer.alloc(bavail * bsize));
  const err = await t.throwsAsync(s.open(), { instanceOf: CloudCoinError, code: 'ENOSPC' });
  t.is(err!.exitCode, ExitCode.failure);
  t.regex(err!.message, /^disk full: the store lock .+ could not be written; free space and run the command again$/);
  t.deepEqual(await readdir(state), ['filler'], 'no empty lock file to refuse the next run');
  await rm(join(state, 'filler'));
  const store = await s.open();
  t.deepEqual(await store.snapshots(), []);
});

test('a prune that fails half way leaves no local index entry for deleted shards: the same data pushed again is stored again and restores', async (t) => {
  const s = await setup(t);
  const src = join(s.base, 'src');
  await mkdir(src);
  const content = randomBytes(3_000_000);
  await writeFile(join(src, 'a.bin'), content);
  const store = await s.open();
  await store.push(src);
  await store.forget({ snapshots: ['latest'] });
  // host2 stops answering deletes once prune has listed it: hosts 0 and 1 lose their shards, 2 of 3 of every sector.
  s.hosts[2].failDeletes = Infinity;
  await t.throwsAsync(store.prune(), { instanceOf: BackendError });
  for (let i = 0; i < 200 && (await du(s.dirs.slice(0, 2))) > 0; i++) await new Promise((r) => setTimeout(r, 20));
  t.is(await du(s.dirs.slice(0, 2)), 0, 'hosts 0 and 1 deleted everything');
  s.hosts[2].failDeletes = 0;
  const again = await store.push(src);
  t.true(again.uploaded > content.length, `the data was stored again (${again.uploaded} bytes sent)`);
  await store.pull('latest', join(s.base, 'out'));
  t.true((await readFile(join(s.base, 'out/a.bin'))).equals(content));
  t.true((await store.check({ readData: true })).ok);
});
