/**
 * Snapshot rollback (issue 25, item 7): hosts that stop listing the newest
 * manifest must not make `pull latest` restore an older snapshot silently, nor
 * let prune delete the data the hidden one needs. The attack is performed for
 * real: the manifest object is deleted from every backend.
 */
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CloudCoinError } from '../src/lib/errors.js';
import type { LocalBackend } from '../src/lib/store/index.js';
import { localStores } from './util/local-store.js';

async function repo(t: ExecutionContext) {
  const r = await localStores(t, 'cc-rollback-');
  await writeFile(join(r.source, 'old.txt'), 'the first version\n');
  await writeFile(join(r.source, 'big.bin'), randomBytes(2 << 20));
  return r;
}

async function objects(backends: LocalBackend[]): Promise<number> {
  let n = 0;
  for (const b of backends) for await (const id of b.list()) n += id ? 1 : 0;
  return n;
}

/** What the hosts do to hide a snapshot: every one of them deletes its manifest; the bytes are kept to put back. */
async function hide(backends: LocalBackend[], id: string): Promise<Uint8Array> {
  const bytes = await backends[0].get(id);
  for (const b of backends) await b.delete(id);
  return bytes;
}

test('hosts hiding the newest snapshot: snapshots warns, pull latest refuses, prune refuses and deletes nothing', async (t) => {
  const { base, backends, open, source } = await repo(t);
  const store = await open('state');
  const first = await store.push(source);
  await writeFile(join(source, 'new.txt'), 'only in the second snapshot\n');
  await writeFile(join(source, 'big2.bin'), randomBytes(1 << 20));
  const second = await store.push(source);
  t.deepEqual(store.hiddenSnapshots(), []);

  const manifest = await hide(backends, second.snapshot);
  const listed = await store.snapshots();
  t.deepEqual(listed.map((s) => s.id), [first.snapshot], 'the hosts now list the first snapshot only');
  t.deepEqual(store.hiddenSnapshots().map((h) => h.id), [second.snapshot], 'the one pushed from here is remembered');

  const target = join(base, 'restore');
  const refused = await t.throwsAsync(store.pull('latest', target), { instanceOf: CloudCoinError, code: 'EHIDDEN' });
  t.is(refused!.exitCode, 6);
  t.regex(refused!.message, new RegExp(`${second.snapshot.slice(0, 16)}.*listed by no host.*older ${first.snapshot.slice(0, 16)}`));
  t.deepEqual(await readdir(target).catch(() => []), [], 'nothing was restored');

  // Named, the older snapshot restores: the user chose it.
  await store.pull(first.snapshot, target);
  t.is(await readFile(join(target, 'old.txt'), 'utf8'), 'the first version\n');

  const before = await objects(backends);
  const pruneRefused = await t.throwsAsync(store.prune(), { instanceOf: CloudCoinError, code: 'EHIDDEN' });
  t.is(pruneRefused!.exitCode, 1);
  t.notRegex(pruneRefused!.message, /\n/, 'one line');
  t.regex(pruneRefused!.message, /--forget-hidden/);
  t.is(await objects(backends), before, 'prune deleted nothing');

  // A host that lists it again (or comes back up) ends the warning: the data was all kept.
  await backends[1].put(second.snapshot, manifest);
  await store.snapshots();
  t.deepEqual(store.hiddenSnapshots(), []);
  const again = join(base, 'restore-latest');
  t.is((await store.pull('latest', again)).snapshot, second.snapshot);
  t.is(await readFile(join(again, 'new.txt'), 'utf8'), 'only in the second snapshot\n');
});

test('prune --forget-hidden lets go of a hidden snapshot and deletes what only it needed; latest is then the newest listed', async (t) => {
  const { backends, open, source } = await repo(t);
  const store = await open('state');
  const first = await store.push(source);
  await writeFile(join(source, 'big2.bin'), randomBytes(1 << 20));
  const second = await store.push(source);
  await hide(backends, second.snapshot);
  await store.snapshots();
  const before = await objects(backends);
  const r = await store.prune({ forgetHidden: true });
  t.deepEqual(r.forgotten, [second.snapshot]);
  t.true(r.deleted > 0 && (await objects(backends)) === before - r.deleted, 'the hidden snapshot\'s own data is deleted');
  t.is(await store.resolve('latest'), first.snapshot);
  t.deepEqual(store.hiddenSnapshots(), [], 'no longer remembered');
  t.true((await store.check({ readData: true })).ok);
});

test('a snapshot is remembered from a listing too, and forgetting it, listed or hidden, ends the memory', async (t) => {
  const { backends, open, source } = await repo(t);
  const pusher = await open('state');
  const first = await pusher.push(source);
  await writeFile(join(source, 'big2.bin'), randomBytes(1 << 20));
  const second = await pusher.push(source);
  const third = (await pusher.push(source, { tags: ['again'] })).snapshot;

  // Another machine that has only listed them.
  const other = await open('other');
  t.is((await other.snapshots()).length, 3);
  await hide(backends, third);
  await other.snapshots();
  t.deepEqual(other.hiddenSnapshots().map((h) => h.id), [third], 'remembered from the listing');
  await t.throwsAsync(other.resolve('latest'), { code: 'EHIDDEN' });

  // Forgotten elsewhere, say: naming it is how the user lets go.
  const f = await other.forget({ snapshots: [third.slice(0, 12)] });
  t.deepEqual([f.removed, f.warnings], [[third], []]);
  await other.snapshots();
  t.deepEqual(other.hiddenSnapshots(), []);
  t.is(await other.resolve('latest'), second.snapshot);

  // A listed snapshot forgotten from here is not remembered either: it does not come back as hidden.
  await other.forget({ snapshots: [second.snapshot] });
  t.deepEqual((await other.snapshots()).map((s) => s.id), [first.snapshot]);
  t.deepEqual(other.hiddenSnapshots(), []);
  t.true((await other.prune()).deleted > 0);
});
