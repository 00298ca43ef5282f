/**
 * Snapshots crafted with the real key, as a compromised machine or a bug could
 * write them, must not make pull write anything outside its target directory.
 * The snapshots are planted on the hosts and read through a fresh state
 * directory, so they take the same path as any snapshot from the network.
 */
import test, { type ExecutionContext } from 'ava';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { CloudCoinError } from '../src/lib/errors.js';
import { LocalBackend, Store, StoreKeys, type TreeEntry } from '../src/lib/store/index.js';
import { type ChunkRef, type ManifestHeader, encodeBody, encodeHeader, newManifestId } from '../src/lib/store/manifest.js';
import { type SectorRecord, sealSector, shardSector } from '../src/lib/store/sector.js';

interface World {
  base: string;
  outside: string;
  target: string;
  keys: StoreKeys;
  backends: LocalBackend[];
}

async function world(t: ExecutionContext): Promise<World> {
  const base = await mkdtemp(join(tmpdir(), 'cc-safety-'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const outside = join(base, 'outside');
  await mkdir(outside);
  await writeFile(join(outside, 'victim.txt'), 'original');
  const keys = new StoreKeys(randomBytes(32));
  const backends = [0, 1, 2].map((i) => new LocalBackend(`host${i}`, join(base, `host${i}`), { sync: false }));
  return { base, outside, target: join(base, 'target'), keys, backends };
}

/** Seals `plain` as one sector, stores its shards, and returns its record and a chunk reference to all of it. */
async function storeSector(w: World, plain: Buffer): Promise<{ rec: SectorRecord; ref: ChunkRef }> {
  const chunkId = createHmac('sha256', w.keys.ids).update(plain).digest('hex');
  const { id, parts, size } = sealSector(w.keys, plain, [chunkId]);
  const { ids, shards } = shardSector(parts, 2, 3);
  await Promise.all(ids.map((sid, i) => w.backends[i].put(sid, shards[i])));
  const rec: SectorRecord = { id, size, k: 2, shards: ids.map((sid, i) => [sid, w.backends[i].name]) };
  return { rec, ref: [chunkId, id, 0, plain.length] };
}

/**
 * Plants a snapshot with the given tree; file entries get the content "PWNED",
 * or the chunks `chunksOf` gives for their path from the reference to it.
 */
async function plant(w: World, tree: Partial<TreeEntry>[], chunksOf: (ref: ChunkRef) => Record<string, ChunkRef[]> = () => ({})): Promise<string> {
  const data = await storeSector(w, Buffer.from('PWNED'));
  const full = tree.map((e) => ({ mode: 0o644, mtime: 1_600_000_000_000_000, ...e })) as TreeEntry[];
  const given = chunksOf(data.ref);
  for (const e of full) if (e.type === 'file') Object.assign(e, { size: 5, chunks: given[e.path] ?? [data.ref] });
  const body = encodeBody(full, [data.rec]);
  const b = await storeSector(w, body);
  const header: ManifestHeader = {
    version: 1,
    time: new Date().toISOString(),
    hostname: 'attacker',
    source: '/',
    tags: [],
    parent: null,
    files: full.length,
    bytes: 0,
    body: { size: body.length, chunks: [b.ref] },
    sectors: [b.rec],
  };
  const id = newManifestId(w.keys);
  const blob = encodeHeader(w.keys, id, header);
  await Promise.all(w.backends.map((be) => be.put(id, blob)));
  return id;
}

async function listing(dir: string): Promise<string> {
  const names = (await readdir(dir, { recursive: true })).sort();
  const contents = await Promise.all(names.map((n) => readFile(join(dir, n), 'utf8').catch(() => '<dir>')));
  return JSON.stringify(names.map((n, i) => [n, contents[i]]));
}

const syntactic: [string, Partial<TreeEntry>[]][] = [
  ['a ../ path', [{ path: '../escape.txt', type: 'file' }]],
  ['.. in the middle', [{ path: 'a/../../escape.txt', type: 'file' }]],
  ['an absolute path', [{ path: '/tmp/cc-escape.txt', type: 'file' }]],
  ['an empty component', [{ path: 'a//b', type: 'file' }]],
  ['a hard link to ../', [{ path: 'ok.txt', type: 'file' }, { path: 'hl', type: 'link', target: '../outside/victim.txt' }]],
  ['a hard link to an absolute path', [{ path: 'hl', type: 'link', target: '/etc/passwd' }]],
];

for (const [what, tree] of syntactic) {
  test(`a snapshot with ${what} is refused before anything is written`, async (t) => {
    const w = await world(t);
    const id = await plant(w, [{ path: 'first.txt', type: 'file' }, ...tree]);
    const store = await Store.open({ keys: w.keys, backends: w.backends, stateDir: join(w.base, 'state') });
    t.teardown(() => store.close());
    const before = await listing(w.outside);
    const err = await t.throwsAsync(store.pull(id, w.target), { instanceOf: CloudCoinError });
    t.is(err?.code, 'EUNSAFE');
    t.is(await listing(w.outside), before);
    t.deepEqual(await readdir(w.target).catch(() => []), []);
    await t.throwsAsync(store.pullTar(id, new PassThrough()), { instanceOf: CloudCoinError, message: /refused/ });
  });
}

test('a directory where a file, a symlink or a hard link goes is left as it is, and those entries are reported', async (t) => {
  const w = await world(t);
  const id = await plant(w, [
    { path: 'file.txt', type: 'file' },
    { path: 'sym', type: 'symlink', target: 'file.txt' },
    { path: 'other.txt', type: 'file' },
    { path: 'hl', type: 'link', target: 'other.txt' },
  ]);
  for (const d of ['file.txt', 'sym', 'hl']) {
    await mkdir(join(w.target, d), { recursive: true });
    await writeFile(join(w.target, d, 'kept'), 'mine');
  }
  const store = await Store.open({ keys: w.keys, backends: w.backends, stateDir: join(w.base, 'state') });
  t.teardown(() => store.close());
  const res = await store.pull(id, w.target);
  t.deepEqual(res.errors.map((e) => e.split(':')[0]).sort(), ['file.txt', 'hl', 'sym']);
  t.true(res.errors.every((e) => e.endsWith('refused: a directory is in the way')), res.errors.join('; '));
  for (const d of ['file.txt', 'sym', 'hl']) t.is(await readFile(join(w.target, d, 'kept'), 'utf8'), 'mine');
  t.is(await readFile(join(w.target, 'other.txt'), 'utf8'), 'PWNED');
  t.deepEqual((await readdir(w.target)).filter((n) => n.startsWith('.')), [], 'no temporary file is left behind');
});

test('symlink tricks write nothing outside the target; the honest entries are restored', async (t) => {
  const w = await world(t);
  const id = await plant(w, [
    { path: 'ok.txt', type: 'file' },
    // A link out, then a write through it.
    { path: 'evil', type: 'symlink', target: w.outside },
    { path: 'evil/pwned.txt', type: 'file' },
    { path: 'up', type: 'symlink', target: '..' },
    { path: 'up/outside/pwned.txt', type: 'file' },
    { path: 'd', type: 'directory' },
    { path: 'd/e', type: 'symlink', target: join(w.outside) },
    { path: 'd/e/f/g.txt', type: 'file' },
    // A link to a file outside, then a file of the same name: the link is replaced, the victim untouched.
    { path: 'outfile', type: 'symlink', target: join(w.outside, 'victim.txt') },
    { path: 'outfile', type: 'file' },
    // A hard link to a symlink that points out.
    { path: 'hl', type: 'link', target: 'evil' },
    // Writes through a symlink that was in the target before the pull.
    { path: 'pre/pwned.txt', type: 'file' },
  ]);
  await mkdir(w.target);
  await symlink(w.outside, join(w.target, 'pre'));
  const before = await listing(w.outside);
  const store = await Store.open({ keys: w.keys, backends: w.backends, stateDir: join(w.base, 'state') });
  t.teardown(() => store.close());
  const res = await store.pull(id, w.target);
  t.is(await listing(w.outside), before);
  t.is(await readFile(join(w.outside, 'victim.txt'), 'utf8'), 'original');
  t.is(await readFile(join(w.target, 'ok.txt'), 'utf8'), 'PWNED');
  t.true(res.errors.some((e) => e.startsWith('pre/pwned.txt') && /symlink/.test(e)), res.errors.join('\n'));
  t.true(res.errors.some((e) => e.startsWith('hl')), res.errors.join('\n'));
  t.true(res.errors.length >= 4, res.errors.join('\n'));
});

test('chunks that do not match their references are refused file by file; the rest is restored', async (t) => {
  const w = await world(t);
  const id = await plant(w, [{ path: 'ok.txt', type: 'file' }, { path: 'wrong-id.txt', type: 'file' }, { path: 'wrong-range.txt', type: 'file' }], (ref) => ({
    // Checked on the sector worker as the sector is opened.
    'wrong-id.txt': [[createHmac('sha256', w.keys.ids).update('other bytes').digest('hex'), ref[1], 0, 5]],
    // The same chunk id at other places than was named first: checked on the main thread.
    'wrong-range.txt': [
      [ref[0], ref[1], 0, 4],
      [ref[0], ref[1], 4, 1],
    ],
  }));
  const store = await Store.open({ keys: w.keys, backends: w.backends, stateDir: join(w.base, 'state') });
  t.teardown(() => store.close());
  const res = await store.pull(id, w.target);
  t.is(await readFile(join(w.target, 'ok.txt'), 'utf8'), 'PWNED');
  for (const name of ['wrong-id.txt', 'wrong-range.txt']) {
    t.true(res.errors.some((e) => e.startsWith(name) && /does not match its reference/.test(e)), res.errors.join('\n'));
  }
  t.deepEqual((await readdir(w.target)).sort(), ['ok.txt']);
});
