/**
 * The store engine end to end on real files, real LevelDB and local-directory
 * backends: what a user pushes comes back identical, dedup and erasure coding
 * hold their promises, and hosts see nothing they should not.
 */
import test, { type ExecutionContext } from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, lchown, link, lstat, lutimes, mkdir, mkdtemp, open, readFile, readdir, readlink, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import tar from 'tar-stream';
import { CloudCoinError, ExitCode } from '../src/lib/errors.js';
import { type Backend, BackendError, LocalBackend, type ProgressEvent, Store, StoreKeys, exportKey, importKey, initKey, openKey } from '../src/lib/store/index.js';
import { utimesSeconds } from '../src/lib/store/restore.js';

// The smallest scrypt cost key files accept; these tests are not about the KDF.
const FAST_SCRYPT = { name: 'scrypt', N: 2 ** 10, r: 8, p: 1 } as const;

interface Repo {
  base: string;
  keys: StoreKeys;
  dirs: string[];
  backends: LocalBackend[];
  store: Store;
}

async function tempBase(t: ExecutionContext): Promise<string> {
  const base = await mkdtemp(join(tmpdir(), 'cc-store-'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  return base;
}

async function makeRepo(t: ExecutionContext, hosts = 3): Promise<Repo> {
  const base = await tempBase(t);
  const keys = new StoreKeys(randomBytes(32));
  const dirs = Array.from({ length: hosts }, (_, i) => join(base, `host${i}`));
  const backends = dirs.map((d, i) => new LocalBackend(`host${i}`, d, { sync: false }));
  const store = await Store.open({ keys, backends, stateDir: join(base, 'state') });
  t.teardown(() => store.close());
  return { base, keys, dirs, backends, store };
}

const MTIME = 1_600_000_000;

/** The acceptance tree: every kind of entry, awkward names, deep nesting, many small files. */
async function mixedTree(root: string, smallFiles = 3000): Promise<void> {
  const f = (p: string) => join(root, p);
  await mkdir(f('docs/empty dir'), { recursive: true });
  await writeFile(f('docs/readme.txt'), 'plain text\n'.repeat(1000));
  await writeFile(f('docs/empty file'), '');
  await writeFile(f('big.bin'), randomBytes(20 * 1024 * 1024));
  await mkdir(f('ünïcødé ✓/日本語'), { recursive: true });
  await writeFile(f('ünïcødé ✓/日本語/ファイル name.txt'), 'こんにちは');
  await writeFile(f('exec.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  await writeFile(f('private'), 'secret-ish', { mode: 0o600 });
  await writeFile(f('readonly'), 'ro');
  await chmod(f('readonly'), 0o444);
  await symlink('docs/readme.txt', f('link-to-file'));
  await symlink('docs', f('link-to-dir'));
  await symlink('does/not/exist', f('dangling'));
  await symlink('/nonexistent/absolute', f('absolute-link'));
  await writeFile(f('hard-a'), 'shared inode');
  await link(f('hard-a'), f('hard-b'));
  await link(f('hard-a'), f('docs/hard-c'));
  let deep = 'deep';
  for (let i = 1; i < 60; i++) deep += `/level ${i}`;
  await mkdir(f(deep), { recursive: true });
  await writeFile(f(`${deep}/bottom.txt`), 'sixty levels down');
  for (let d = 0; d < smallFiles / 100; d++) {
    await mkdir(f(`many/d${d}`), { recursive: true });
    for (let i = 0; i < 100; i++) await writeFile(f(`many/d${d}/f${i}`), randomBytes((d * 100 + i) % 3000));
  }
  await mkdir(f('locked'), { mode: 0o700 });
  await writeFile(f('locked/inside'), 'x');
  await chmod(f('locked'), 0o555);
  // Fixed, distinct mtimes (deepest first, since creating entries changes a directory's mtime).
  const all = (await walkTree(root)).reverse();
  for (const [i, e] of all.entries()) {
    const when = MTIME + i * 1.5;
    if (e.type === 'symlink') await lutimes(join(root, e.path), when, when);
    else await utimes(join(root, e.path), when, when);
  }
}

interface Seen {
  path: string;
  type: string;
  mode: number;
  mtime: number;
  size?: number;
  sha?: string;
  target?: string;
  links?: string;
}

/** Everything a restore must reproduce, by path: a tree walk that does not follow symlinks. */
async function walkTree(root: string): Promise<Seen[]> {
  const out: Seen[] = [];
  const inodes = new Map<number, string[]>();
  const visit = async (rel: string) => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const abs = join(root, path);
      const st = await lstat(abs);
      const e: Seen = { path, type: '', mode: st.mode & 0o7777, mtime: Math.round(st.mtimeMs) };
      if (st.isDirectory()) {
        e.type = 'dir';
        out.push(e);
        await visit(path);
        continue;
      }
      if (st.isSymbolicLink()) {
        Object.assign(e, { type: 'symlink', target: await readlink(abs) });
        delete (e as any).mode;
      } else {
        Object.assign(e, { type: 'file', size: st.size, sha: createHash('sha256').update(await readFile(abs)).digest('hex') });
        inodes.set(st.ino, [...(inodes.get(st.ino) ?? []), path]);
        (e as any).ino = st.ino;
      }
      out.push(e);
    }
  };
  await visit('');
  for (const e of out as any[]) {
    if (e.ino !== undefined) e.links = inodes.get(e.ino)!.join('|');
    delete e.ino;
  }
  return out;
}

function sameTree(t: ExecutionContext, got: Seen[], want: Seen[]): void {
  t.is(got.length, want.length, 'entry count');
  const byPath = new Map(got.map((e) => [e.path, JSON.stringify(e)]));
  const diffs = want.filter((e) => byPath.get(e.path) !== JSON.stringify(e)).map((e) => ({ want: e, got: byPath.get(e.path) }));
  t.deepEqual(diffs.slice(0, 5), []);
}

test('a mixed tree pushes and pulls back identical; an unchanged second push uploads under 1%', async (t) => {
  const { base, store } = await makeRepo(t);
  const src = join(base, 'src');
  await mixedTree(src);
  const before = await walkTree(src);
  const first = await store.push(src, { tags: ['acceptance'] });
  t.true(first.bytes > 20 * 1024 * 1024);
  t.deepEqual(first.skipped, []);
  const pulled = await store.pull(first.snapshot, join(base, 'out'));
  t.deepEqual(pulled.errors, []);
  sameTree(t, await walkTree(join(base, 'out')), before);
  // Written through the page cache, as where the file system refuses O_DIRECT: the same tree.
  t.deepEqual((await store.pull(first.snapshot, join(base, 'out-buffered'), { direct: false })).errors, []);
  sameTree(t, await walkTree(join(base, 'out-buffered')), before);
  await chmod(join(base, 'out-buffered/locked'), 0o755);

  const second = await store.push(src);
  t.true(second.uploaded < first.bytes / 100, `second push uploaded ${second.uploaded} of ${first.bytes}`);
  t.is(second.newBytes, 0);
  // Every file (one per inode: a second name is a hard link) had the parent's size and mtime: none was read.
  t.is(second.unchanged, new Set(before.filter((e) => e.type === 'file').map((e) => (e as any).links)).size);
  t.deepEqual(await store.diff(first.snapshot, second.snapshot), []);
  // --force reads everything again; dedup alone keeps the upload under 1%.
  const forced = await store.push(src, { force: true });
  t.is(forced.unchanged, 0);
  t.is(forced.newBytes, 0);
  t.true(forced.uploaded < first.bytes / 100, `forced push uploaded ${forced.uploaded} of ${first.bytes}`);
  // The quick check's blind spot, as rsync's: same size, mtime put back. Only --force sees it.
  const st = await lstat(join(src, 'private'));
  await writeFile(join(src, 'private'), 'SECRET-ISH');
  await utimes(join(src, 'private'), st.atime, st.mtime);
  t.deepEqual(await store.diff(forced.snapshot, (await store.push(src)).snapshot), []);
  const seen = await store.push(src, { force: true });
  t.deepEqual((await store.diff(forced.snapshot, seen.snapshot)).map((c) => c.path), ['private']);
  const snaps = await store.snapshots();
  t.deepEqual(snaps.slice(0, 3).map((s) => s.id), [first.snapshot, second.snapshot, forced.snapshot]);
  t.is(snaps[1].parent, first.snapshot);
  t.deepEqual(snaps[0].tags, ['acceptance']);
  await chmod(join(base, 'out/locked'), 0o755);
  await chmod(join(src, 'locked'), 0o755);
});

test('mtimes come back to the microsecond, also those whose seconds as a double fall just below it', async (t) => {
  const { base, store } = await makeRepo(t);
  const src = join(base, 'src');
  await mkdir(join(src, 'd'), { recursive: true });
  // Consecutive microseconds: with us / 1e6 as seconds, about half of these were restored 1 µs early.
  const times = Array.from({ length: 40 }, (_, i) => 1_796_172_989_747_000 + i);
  for (const [i, us] of times.entries()) {
    const p = join(src, i % 2 ? `d/f${i}` : `f${i}`);
    await writeFile(p, `file ${i}`);
    await utimes(p, utimesSeconds(us), utimesSeconds(us));
  }
  await utimes(join(src, 'd'), utimesSeconds(times[1]), utimesSeconds(times[1]));
  const micros = async (root: string, p: string) => (await lstat(join(root, p), { bigint: true })).mtimeNs / 1000n;
  for (const [i, us] of times.entries()) t.is(await micros(src, i % 2 ? `d/f${i}` : `f${i}`), BigInt(us), 'the source is as set');
  await store.push(src);
  await store.pull('latest', join(base, 'out'));
  for (const [i, us] of times.entries()) t.is(await micros(join(base, 'out'), i % 2 ? `d/f${i}` : `f${i}`), BigInt(us), `f${i}`);
  t.is(await micros(join(base, 'out'), 'd'), BigInt(times[1]), 'a directory too');
});

test('ls, include filter and tar output', async (t) => {
  const { base, store } = await makeRepo(t);
  const src = join(base, 'src');
  await mixedTree(src, 200);
  const { snapshot } = await store.push(src);
  const ls = await store.ls(snapshot, 'docs');
  t.deepEqual(ls.map((e) => e.path), ['docs', 'docs/empty dir', 'docs/empty file', 'docs/hard-c', 'docs/readme.txt']);
  t.false('chunks' in ls[0]);

  // Only docs/: the hard link whose first name (hard-a) is outside the filter comes back as a file with its contents.
  const res = await store.pull('latest', join(base, 'partial'), { include: ['docs'] });
  t.deepEqual(res.errors, []);
  t.deepEqual((await readdir(join(base, 'partial'))).sort(), ['docs']);
  t.is(await readFile(join(base, 'partial/docs/hard-c'), 'utf8'), 'shared inode');
  t.is(await readFile(join(base, 'partial/docs/readme.txt'), 'utf8'), 'plain text\n'.repeat(1000));

  const out = new PassThrough();
  const seen = new Map<string, { type: string; sha?: string; linkname?: string | null }>();
  const extract = tar.extract();
  extract.on('entry', (h, stream, next) => {
    const hash = createHash('sha256');
    stream.on('data', (d: unknown) => {
      hash.update(d as Buffer);
    });
    stream.on('end', () => {
      seen.set(h.name.replace(/\/$/, ''), { type: h.type!, sha: h.type === 'file' ? hash.digest('hex') : undefined, linkname: h.linkname });
      next();
    });
  });
  const finished = new Promise<void>((r) => extract.on('finish', () => r()));
  out.pipe(extract);
  await store.pullTar(snapshot, out);
  await finished;
  const want = await walkTree(src);
  t.is(seen.size, want.length);
  t.is(seen.get('big.bin')?.sha, want.find((e) => e.path === 'big.bin')?.sha);
  t.deepEqual(seen.get('dangling'), { type: 'symlink', sha: undefined, linkname: 'does/not/exist' });
  // The walk is sorted, so docs/hard-c is the first name of the inode and the others link to it.
  t.deepEqual(seen.get('hard-b'), { type: 'link', sha: undefined, linkname: 'docs/hard-c' });
  await chmod(join(src, 'locked'), 0o755);
});

test('a target that is a file, or below one, is a usage error naming it; nothing is written', async (t) => {
  const { base, store } = await makeRepo(t);
  const src = join(base, 'src');
  await mkdir(src);
  await writeFile(join(src, 'a.txt'), 'hello');
  await store.push(src);
  const file = join(base, 'a-file');
  await writeFile(file, 'x');
  for (const target of [file, join(file, 'below')]) {
    await t.throwsAsync(store.pull('latest', target), { instanceOf: CloudCoinError, code: 'ETARGET', message: `${target} is not a directory` });
  }
  t.is(await readFile(file, 'utf8'), 'x');
});

test('an --include or an ls path the snapshot does not have is a usage error; the target is not created', async (t) => {
  const { base, store } = await makeRepo(t);
  const src = join(base, 'src');
  await mkdir(join(src, 'docs'), { recursive: true });
  await writeFile(join(src, 'docs', 'a.txt'), 'hello');
  await store.push(src);
  const target = join(base, 'out');
  await t.throwsAsync(store.pull('latest', target, { include: ['docs', 'doc/a.txt'] }), { instanceOf: CloudCoinError, code: 'ENOPATH', message: '--include "doc/a.txt": not in the snapshot' });
  await t.throwsAsync(readdir(target), { code: 'ENOENT' });
  const err = await t.throwsAsync(store.ls('latest', 'nope'), { instanceOf: CloudCoinError, code: 'ENOPATH' });
  t.is(err!.exitCode, ExitCode.usage);
  t.deepEqual((await store.ls('latest', 'docs/')).map((e) => e.path), ['docs', 'docs/a.txt']);
});

test('a tar stream whose reader goes away (EPIPE) ends the pull with one clear error, not a crash', async (t) => {
  const { base, store } = await makeRepo(t);
  const src = join(base, 'src');
  await mkdir(src);
  for (let i = 0; i < 4; i++) await writeFile(join(src, `f${i}.bin`), randomBytes(3_000_000));
  await store.push(src);
  // As stdout does when `| head` has exited: the first write past 256 KiB fails with EPIPE.
  let taken = 0;
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      taken += chunk.length;
      cb(taken > 256 * 1024 ? Object.assign(new Error('write EPIPE'), { code: 'EPIPE', syscall: 'write' }) : null);
    },
  });
  const err = await t.throwsAsync(store.pullTar('latest', out), { instanceOf: CloudCoinError, code: 'EPIPE' });
  t.is(err!.exitCode, ExitCode.failure);
  t.regex(err!.message, /^the tar stream could not be written \(EPIPE\): \d of 4 entries sent$/);
  // The store still works: what the broken stream held was given back.
  t.deepEqual((await store.pull('latest', join(base, 'out'))).errors, []);
});

test('a 1-byte change in a 20 MB file uploads under 1 MiB; progress reports files, bytes and rate', async (t) => {
  const { base, store } = await makeRepo(t);
  const src = join(base, 'src');
  await mkdir(src);
  await writeFile(join(src, 'big.bin'), randomBytes(20 * 1024 * 1024));
  await writeFile(join(src, 'other.txt'), 'unchanged');
  const events: ProgressEvent[] = [];
  const a = await store.push(src, { progress: (e) => events.push(e) });
  const last = events[events.length - 1];
  t.true(events.filter((e) => e.done).length === 1 && last.done);
  t.like(last, { phase: 'push', files: 2, totalFiles: 2, bytes: 20 * 1024 * 1024 + 9, totalBytes: 20 * 1024 * 1024 + 9 });
  t.true(last.rate > 0 && last.transferred >= a.uploaded - 1000);
  const fh = await open(join(src, 'big.bin'), 'r+');
  // The byte's complement: a fixed value would leave random data unchanged one time in 256.
  const { buffer: byte } = await fh.read(Buffer.alloc(1), 0, 1, 12_345_678);
  await fh.write(Buffer.from([byte[0] ^ 0xff]), 0, 1, 12_345_678);
  await fh.close();
  const b = await store.push(src);
  t.true(b.uploaded < 1024 * 1024, `uploaded ${b.uploaded}`);
  t.deepEqual(await store.diff(a.snapshot, b.snapshot), [{ path: 'big.bin', change: 'modified' }]);
  await store.pull(b.snapshot, join(base, 'out'));
  t.true((await readFile(join(base, 'out/big.bin'))).equals(await readFile(join(src, 'big.bin'))));
});

/** A backend whose host is down. */
class DownBackend implements Backend {
  constructor(readonly name: string) {}
  private _down(): never {
    throw new BackendError('unavailable', this.name, 'connection refused');
  }
  async put(): Promise<void> {
    this._down();
  }
  async get(): Promise<Uint8Array> {
    this._down();
  }
  async has(): Promise<boolean> {
    this._down();
  }
  async delete(): Promise<void> {
    this._down();
  }
  // eslint-disable-next-line require-yield
  async *list(): AsyncIterable<string> {
    this._down();
  }
}

test('with n-k hosts gone (one wiped, one down) pull is still identical, on a new machine with only the exported key', async (t) => {
  const base = await tempBase(t);
  await initKey(join(base, 'old.key'), 'pw', FAST_SCRYPT);
  const keys = await openKey(join(base, 'old.key'), 'pw');
  const dirs = [0, 1, 2, 3, 4].map((i) => join(base, `host${i}`));
  const backends = dirs.map((d, i) => new LocalBackend(`host${i}`, d, { sync: false }));
  const store = await Store.open({ keys, backends, stateDir: join(base, 'state'), k: 3 });
  const src = join(base, 'src');
  await mixedTree(src, 300);
  const want = await walkTree(src);
  await store.push(src);
  await store.close();

  // A new machine with the same key and hosts: its first push of the same tree stores nothing twice.
  const other = await Store.open({ keys, backends, stateDir: join(base, 'other'), k: 3 });
  const again = await other.push(src);
  await other.close();
  t.is(again.newBytes, 0);
  t.true(again.uploaded < 100_000, `uploaded ${again.uploaded}`);

  await rm(dirs[1], { recursive: true });
  const survivors: Backend[] = [backends[0], new DownBackend('host1'), new DownBackend('host2'), backends[3], backends[4]];
  // The new machine: the exported key, a new state directory (no index, no cached
  // manifests); everything else comes from the hosts that still answer.
  await importKey(await exportKey(join(base, 'old.key'), 'pw'), join(base, 'new.key'), 'pw');
  const newKeys = await openKey(join(base, 'new.key'), 'pw');
  const fresh = await Store.open({ keys: newKeys, backends: survivors, stateDir: join(base, 'state2'), k: 3 });
  t.teardown(() => fresh.close());
  const snaps = await fresh.snapshots();
  t.is(snaps.length, 2);
  const res = await fresh.pull('latest', join(base, 'out'));
  t.deepEqual(res.errors, []);
  sameTree(t, await walkTree(join(base, 'out')), want);
  await chmod(join(src, 'locked'), 0o755);
  await chmod(join(base, 'out/locked'), 0o755);
});

test('owners are stored; pulled as root they come back, and a chown alone is a metadata change', async (t) => {
  const { base, store } = await makeRepo(t);
  const src = join(base, 'src');
  await mkdir(join(src, 'dir'), { recursive: true });
  await writeFile(join(src, 'dir/small.txt'), 'owned');
  await writeFile(join(src, 'big.bin'), randomBytes(300 * 1024));
  await symlink('big.bin', join(src, 'link'));
  const root = process.getuid?.() === 0;
  const owners: Record<string, [number, number]> = { dir: [1234, 5678], 'dir/small.txt': [2345, 6789], 'big.bin': [3456, 7890], link: [4567, 8901] };
  if (root) for (const [p, [u, g]] of Object.entries(owners)) await lchown(join(src, p), u, g);
  const first = await store.push(src);
  const listed = new Map((await store.ls(first.snapshot)).map((e) => [e.path, [e.uid, e.gid]]));
  for (const p of Object.keys(owners)) {
    const st = await lstat(join(src, p));
    t.deepEqual(listed.get(p), [st.uid, st.gid], `${p} as stored`);
  }
  await store.pull(first.snapshot, join(base, 'out'));
  for (const p of Object.keys(owners)) {
    const st = await lstat(join(base, 'out', p));
    // Only root can give files away; anyone else gets files of their own, as with tar.
    t.deepEqual([st.uid, st.gid], root ? owners[p] : [process.getuid!(), process.getgid!()], `${p} as restored`);
  }
  if (!root) return;
  await lchown(join(src, 'dir/small.txt'), 1, 1);
  const second = await store.push(src);
  t.deepEqual(await store.diff(first.snapshot, second.snapshot), [{ path: 'dir/small.txt', change: 'metadata' }]);
});

/** A LocalBackend that counts the reads of each id, and answers in the memory handed in when it fits, as HostBackend does. */
class CountingBackend extends LocalBackend {
  readonly reads = new Map<string, number>();
  /** Ids read into the memory handed in. */
  readonly into = new Set<string>();
  override async get(id: string, into?: Buffer): Promise<Uint8Array> {
    this.reads.set(id, (this.reads.get(id) ?? 0) + 1);
    const bytes = await super.get(id);
    if (!into || into.length < bytes.length) return bytes;
    this.into.add(id);
    into.set(bytes);
    return into.subarray(0, bytes.length);
  }
}

test('a pull fetches each sector once, with big and medium files restored side by side, into memory it recycles', async (t) => {
  const base = await tempBase(t);
  const keys = new StoreKeys(randomBytes(32));
  const backends = [0, 1, 2].map((i) => new CountingBackend(`host${i}`, join(base, `host${i}`), { sync: false }));
  const src = join(base, 'src');
  // Big files (restored two at a time, each fetching its next sector ahead) among
  // medium ones that share sectors across file boundaries: the mix that made the
  // sector cache evict what a file was about to read.
  await mkdir(join(src, 'big'), { recursive: true });
  for (let i = 0; i < 4; i++) await writeFile(join(src, `big/b${i}`), randomBytes((9 + 3 * i) * 1024 * 1024));
  await mkdir(join(src, 'medium'), { recursive: true });
  for (let i = 0; i < 24; i++) await writeFile(join(src, `medium/m${i}`), randomBytes(64 * 1024 + ((i * 337 * 1024) % (3 * 1024 * 1024))));
  const pusher = await Store.open({ keys, backends, stateDir: join(base, 'state') });
  await pusher.push(src);
  await pusher.close();
  for (const b of backends) b.reads.clear();
  // A machine without the local index, so that every read goes to the backends.
  const puller = await Store.open({ keys, backends, stateDir: join(base, 'state2') });
  t.teardown(() => puller.close());
  const snap = (await puller.snapshots()).at(-1)!;
  const shardIds = new Set((await puller.snapshot(snap.id)).sectors.flatMap((s) => s.shards.map(([id]) => id)));
  for (const b of backends) b.reads.clear();
  await puller.pull(snap.id, join(base, 'out'));
  const reads = backends.flatMap((b) => [...b.reads].filter(([id]) => shardIds.has(id)));
  t.true(reads.length > 0);
  t.deepEqual(reads.filter(([, n]) => n > 1), []);
  // Every shard is read into memory the reader hands in (and gets back from the sector worker after).
  t.deepEqual(backends.flatMap((b) => [...b.reads.keys()].filter((id) => shardIds.has(id) && !b.into.has(id))), []);
  sameTree(t, await walkTree(join(base, 'out')), await walkTree(src));
});
