/**
 * The store surviving hosts that go: pushes at reduced redundancy, `status`
 * from listings, and `repair` rebuilding lost shards onto the hosts left,
 * recorded in placement objects a second machine (fresh state, same key)
 * reads. Real LocalBackends; a host is "down" when its directory's path is a
 * file, so every call fails with ENOTDIR.
 */
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudCoinError } from '../src/lib/errors.js';
import { isManifestId, newManifestId } from '../src/lib/store/manifest.js';
import { decodePlacement, encodePlacement, isPlacementId, newPlacementId, relocations, type Placement } from '../src/lib/store/placement.js';
import { type Backend, LocalBackend, Store, StoreKeys } from '../src/lib/store/index.js';
import { walkTree } from './util/tree.js';

interface World {
  base: string;
  src: string;
  dirs: string[];
  backends: LocalBackend[];
  keys: StoreKeys;
  open(o?: { backends?: Backend[]; n?: number }): Promise<Store>;
  down(i: number): Promise<void>;
  up(i: number): Promise<void>;
}

async function world(t: ExecutionContext, count: number): Promise<World> {
  const base = await mkdtemp(join(tmpdir(), 'cc-repair-'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const dirs = Array.from({ length: count }, (_, i) => join(base, `host${i}`));
  const backends = dirs.map((d, i) => new LocalBackend(`host${i}`, d, { sync: false }));
  const src = join(base, 'src');
  await mkdir(join(src, 'sub'), { recursive: true });
  await writeFile(join(src, 'big.bin'), randomBytes(14_000_000));
  await writeFile(join(src, 'sub', 'note.txt'), 'still here\n');
  const keys = new StoreKeys(randomBytes(32));
  let opened = 0;
  const open = async (o: { backends?: Backend[]; n?: number } = {}) => {
    const store = await Store.open({ keys, backends: o.backends ?? backends, stateDir: join(base, `state${opened++}`), n: o.n, retries: 1, retryDelayMs: 1 });
    t.teardown(() => store.close());
    return store;
  };
  return {
    base, src, dirs, backends, keys, open,
    down: async (i) => {
      await mkdir(dirs[i], { recursive: true });
      await rename(dirs[i], `${dirs[i]}.away`);
      await writeFile(dirs[i], 'down');
    },
    up: async (i) => {
      await rm(dirs[i]);
      await rename(`${dirs[i]}.away`, dirs[i]);
    },
  };
}

async function pullsIdentical(t: ExecutionContext, store: Store, snapshot: string, src: string, target: string): Promise<void> {
  const res = await store.pull(snapshot, target);
  t.deepEqual(res.errors, []);
  t.deepEqual((await walkTree(target)).entries, (await walkTree(src)).entries);
}

async function held(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true }).catch(() => [] as string[])).filter((p) => /^[0-9a-f]{2}\/[0-9a-f]{64}$/.test(p)).map((p) => p.slice(3));
}

test('placement objects round-trip under their key only, and their ids are told apart from manifest ids', (t) => {
  const keys = new StoreKeys(randomBytes(32));
  const id = newPlacementId(keys);
  const p: Placement = { version: 1, time: new Date().toISOString(), sectors: [{ id: 'ab'.repeat(16), size: 1000, k: 2, shards: [['01'.repeat(32), 'a'], ['02'.repeat(32), 'b'], ['03'.repeat(32), 'c']] }] };
  t.deepEqual(decodePlacement(keys, id, encodePlacement(keys, id, p)), p);
  t.true(isPlacementId(keys, id));
  t.false(isManifestId(keys, id));
  t.false(isPlacementId(keys, newManifestId(keys)));
  t.false(isPlacementId(new StoreKeys(randomBytes(32)), id));
  t.throws(() => decodePlacement(new StoreKeys(randomBytes(32)), id, encodePlacement(keys, id, p)), { instanceOf: CloudCoinError, message: /does not decrypt/ });
  t.throws(() => decodePlacement(keys, newPlacementId(keys), encodePlacement(keys, id, p)), { instanceOf: CloudCoinError, message: /does not decrypt/ });
  // The newest placement of a sector wins.
  const later: Placement = { ...p, time: new Date(Date.now() + 1000).toISOString(), sectors: [{ ...p.sectors[0], shards: [['01'.repeat(32), 'd'], ['02'.repeat(32), 'b'], ['03'.repeat(32), 'c']] }] };
  const moved = relocations(new Map([['f'.repeat(64), later], [id, p]]));
  t.is(moved.get(p.sectors[0].id)!.rec.shards[0][1], 'd');
});

test('six hosts, 2-of-4: one gone, the next push still stores 2-of-4, repair rebuilds its shards on the five left, and a second machine reads them there', async (t) => {
  t.timeout(120_000);
  const w = await world(t, 6);
  const store = await w.open();
  const first = await store.push(w.src);
  t.deepEqual([first.n, first.k, first.warnings, first.queued], [4, 2, [], 0]);
  t.is((await store.status()).overall.health, 100);

  await w.down(3);
  await writeFile(join(w.src, 'later.bin'), randomBytes(3_000_000));
  const second = await store.push(w.src);
  t.deepEqual([second.n, second.k, second.warnings, second.hostsDown.map((d) => d.backend)], [4, 2, [], ['host3']]);

  // Waited for: its shards are not present, and not rebuilt yet.
  const waiting = await store.status();
  t.true(waiting.overall.health < 100);
  t.is(waiting.overall.belowK, 0);
  t.like(waiting.hosts.find((h) => h.backend === 'host3'), { up: false, givenUp: false });
  const early = await store.repair();
  t.is(early.repaired, 0);
  t.true(early.belowN.length > 0);

  const fixed = await store.repair({ repairAfter: 0 });
  t.true(fixed.repaired > 0 && fixed.shards >= fixed.repaired);
  t.deepEqual([fixed.belowN, fixed.lost, fixed.warnings], [[], [], []]);
  const after = await store.status({ repairAfter: 0 });
  t.deepEqual(after.overall, { health: 100, sectors: after.overall.sectors, belowN: 0, belowK: 0 });
  for (const s of after.snapshots) t.is(s.health, 100);
  for (const rec of (await store.snapshot(first.snapshot)).sectors) {
    t.false(rec.shards.some(([, name]) => name === 'host3'), `sector ${rec.id} left host3`);
    t.is(new Set(rec.shards.map(([, name]) => name)).size, rec.shards.length);
  }
  t.is((await store.repair({ repairAfter: 0 })).repaired, 0, 'a second repair finds nothing to do');

  // Another machine, the key and the five hosts left: the placements tell it where the shards are.
  const five = w.backends.filter((b) => b.name !== 'host3');
  const other = await w.open({ backends: five });
  t.deepEqual((await other.status()).overall.health, 100);
  await pullsIdentical(t, other, second.snapshot, w.src, join(w.base, 'out-other'));

  // prune keeps what the placements point to; forgetting everything lets it delete them too.
  const pruned = await other.prune();
  t.is(pruned.sectors, 0);
  t.true((await other.check({ readData: true })).ok);
  await other.forget({ snapshots: [first.snapshot, second.snapshot] });
  await other.prune();
  for (const b of five) t.deepEqual(await held(w.dirs[w.backends.indexOf(b)]), [], `${b.name} holds nothing`);
});

test('two of four hosts answer: the push stores 2-of-2 with a NO redundancy warning and queues its sectors; once they are back, repair brings every sector to 2-of-4', async (t) => {
  t.timeout(120_000);
  const w = await world(t, 4);
  const store = await w.open();
  await w.down(1);
  await w.down(3);
  const r = await store.push(w.src);
  t.deepEqual([r.n, r.k], [2, 2]);
  t.is(r.warnings.length, 1);
  t.regex(r.warnings[0], /^reduced redundancy: 2 of 4 shards per new sector \(host1, host3 did not answer\), and NO redundancy/);
  t.true(r.queued > 0);
  const before = await store.status();
  t.is(before.queued, r.queued);
  t.is(before.overall.health, 50);

  await w.up(1);
  await w.up(3);
  const fixed = await store.repair();
  t.deepEqual([fixed.belowN, fixed.lost], [[], []]);
  t.is(fixed.repaired, fixed.sectors);
  const after = await store.status();
  t.deepEqual([after.overall.health, after.queued], [100, 0]);
  for (const rec of (await store.snapshot(r.snapshot)).sectors) t.deepEqual([rec.k, new Set(rec.shards.map((s) => s[1])).size], [2, 4]);
  // Any two of the four now rebuild each sector.
  await w.down(0);
  await w.down(2);
  await pullsIdentical(t, await w.open(), r.snapshot, w.src, join(w.base, 'out'));
});

test('fewer hosts answer than k: EHOSTSDOWN, nothing written', async (t) => {
  const w = await world(t, 4);
  for (const i of [1, 2, 3]) await w.down(i);
  const err = await t.throwsAsync((await w.open()).push(w.src), { instanceOf: CloudCoinError });
  t.is(err?.code, 'EHOSTSDOWN');
  t.is(err?.message, 'only 1 of 4 hosts answered (down: host1, host2, host3); k = 2 (the renter policy) needs at least 2');
  t.deepEqual(await held(w.dirs[0]), []);
});

test('what repair rebuilds: a shard its host no longer has, the shards of a host that failed proofs, and of one no longer contracted', async (t) => {
  t.timeout(120_000);
  const w = await world(t, 6);
  const store = await w.open();
  const r = await store.push(w.src);
  const sectors = (await store.snapshot(r.snapshot)).sectors;
  const [victim] = sectors;

  // A host that answers without one shard: only that sector is short, and comes back.
  const [shard, holder] = victim.shards[0];
  await rm(join(w.dirs[w.backends.findIndex((b) => b.name === holder)], shard.slice(0, 2), shard));
  const missing = await store.status();
  t.deepEqual([missing.overall.belowN, missing.overall.belowK], [1, 0]);
  const one = await store.repair();
  t.deepEqual([one.repaired, one.shards, one.belowN, one.lost], [1, 1, [], []]);
  t.is((await store.status()).overall.health, 100);

  // A host that missed proofs: its shards count as lost, and move to the others.
  const bad = await store.status({ bad: ['host1'] });
  t.true(bad.overall.health < 100);
  t.like(bad.hosts.find((h) => h.backend === 'host1'), { up: true, bad: true });
  const moved = await store.repair({ bad: ['host1'] });
  t.deepEqual([moved.belowN, moved.lost], [[], []]);
  t.is((await store.status({ bad: ['host1'] })).overall.health, 100);
  for (const rec of (await store.snapshot(r.snapshot)).sectors) t.false(rec.shards.some(([, name]) => name === 'host1'));

  // A host no longer contracted: a store opened without it rebuilds what it held on the four left.
  const four = w.backends.filter((b) => b.name !== 'host1' && b.name !== 'host2');
  const fewer = await w.open({ backends: four });
  t.true((await fewer.status()).overall.health < 100);
  const rebuilt = await fewer.repair();
  t.deepEqual([rebuilt.belowN, rebuilt.lost], [[], []]);
  t.is((await fewer.status()).overall.health, 100);
  await pullsIdentical(t, fewer, r.snapshot, w.src, join(w.base, 'out'));
});
