/**
 * A host that is gone once repair has rebuilt its shards elsewhere: check
 * names it retired and is clean, and when it comes back, prune deletes the
 * copies it still holds, but never one whose new home lost it. Real
 * LocalBackends; a host is down while its directory's path is a file.
 */
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Store } from '../src/lib/store/index.js';
import { localStores } from './util/local-store.js';
import { walkTree } from './util/tree.js';

async function held(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).filter((p) => /^[0-9a-f]{2}\/[0-9a-f]{64}$/.test(p)).map((p) => p.slice(3)).sort();
}

async function pullsIdentical(t: ExecutionContext, store: Store, snapshot: string, src: string, target: string): Promise<void> {
  const res = await store.pull(snapshot, target);
  t.deepEqual(res.errors, []);
  t.deepEqual((await walkTree(target)).entries, (await walkTree(src)).entries);
}

/** Six hosts, 2-of-4, a snapshot pushed, and the host of its first shard gone and repaired away from: what that host held before it went. */
async function repairedAway(t: ExecutionContext) {
  const w = await localStores(t, 'cc-retired-', 6);
  await writeFile(join(w.source, 'big.bin'), randomBytes(9_000_000));
  await writeFile(join(w.source, 'note.txt'), 'still here\n');
  const store = await w.open('state');
  const pushed = await store.push(w.source);
  const gone = Number((await store.snapshot(pushed.snapshot)).sectors[0].shards[0][1].slice('host'.length));
  const name = `host${gone}`;
  const before = await held(w.dirs[gone]);
  await w.down(gone);

  // Still named by the records: unreachable is a problem (exit 6), not retired.
  const waiting = await store.check();
  t.false(waiting.ok);
  t.deepEqual(waiting.retired, []);
  t.deepEqual(waiting.unavailable, [name]);

  const fixed = await store.repair({ repairAfter: 0 });
  t.deepEqual([fixed.belowN, fixed.lost, fixed.warnings], [[], [], []]);
  t.true(fixed.shards > 0);
  return { w, store, pushed, gone, name, before };
}

test('a host gone after repair moved its shards is retired: check exits clean, naming it; back, prune deletes its superseded copies and nothing else', async (t) => {
  t.timeout(180_000);
  const { w, store, pushed, gone, name, before } = await repairedAway(t);

  const checked = await store.check();
  t.deepEqual([checked.ok, checked.retired, checked.unavailable, checked.missing], [true, [name], [], []]);
  t.is((await store.status()).overall.health, 100);

  await w.up(gone);
  const copies = before.filter((id) => id !== pushed.snapshot);
  t.true(copies.length > 0, 'the host held shards');
  const others = await Promise.all(w.dirs.map((d, i) => (i === gone ? null : held(d))));
  const pruned = await store.prune();
  t.deepEqual([pruned.deleted, pruned.superseded, pruned.sectors], [copies.length, copies.length, 0]);
  t.deepEqual(await held(w.dirs[gone]), [pushed.snapshot], 'only the manifest copy is left there');
  t.deepEqual(await Promise.all(w.dirs.map((d, i) => (i === gone ? null : held(d)))), others, 'nothing deleted elsewhere');

  await pullsIdentical(t, store, pushed.snapshot, w.source, join(w.base, 'out'));
  const clean = await store.check({ readData: true });
  t.deepEqual([clean.ok, clean.retired, clean.missing, clean.unavailable], [true, [], [], []]);
  t.deepEqual([(await store.prune()).deleted, (await store.status()).overall.health], [0, 100]);
});

test('prune keeps a superseded copy whose new host lost it: check names the loss, and after repair and prune each shard is on its one host', async (t) => {
  t.timeout(180_000);
  const { w, store, pushed, gone, before } = await repairedAway(t);
  const records = async () => {
    const snap = await store.snapshot(pushed.snapshot);
    return [...snap.header.sectors, ...snap.sectors].flatMap((rec) => rec.shards);
  };
  // A shard repair rebuilt off the gone host, lost by the host it went to.
  const [shard, home] = (await records()).find(([id]) => before.includes(id))!;
  t.not(home, `host${gone}`);
  await rm(join(w.dirs[w.backends.findIndex((b) => b.name === home)], shard.slice(0, 2), shard));
  await w.up(gone);

  const pruned = await store.prune();
  t.is(pruned.superseded, before.filter((id) => id !== pushed.snapshot).length - 1);
  t.deepEqual(await held(w.dirs[gone]), [pushed.snapshot, shard].sort(), 'the one copy left of that shard is kept');
  const lost = await store.check();
  t.false(lost.ok);
  t.deepEqual([lost.missing, lost.retired, lost.unavailable], [[{ backend: home, shard }], [], []]);

  const fixed = await store.repair();
  t.deepEqual([fixed.shards, fixed.belowN, fixed.lost], [1, [], []]);
  await store.prune();
  const where = new Map<string, string[]>();
  for (const [i, dir] of w.dirs.entries()) for (const id of await held(dir)) where.set(id, [...(where.get(id) ?? []), `host${i}`]);
  for (const [id, name] of await records()) t.deepEqual(where.get(id), [name], `shard ${id.slice(0, 16)}`);
  await pullsIdentical(t, store, pushed.snapshot, w.source, join(w.base, 'out'));
  t.true((await store.check({ readData: true })).ok);
});
