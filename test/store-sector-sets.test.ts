/**
 * Store.sectorSets(): what the local index says each backend holds is what the
 * backend lists, after a push, a forget, a prune, and on a new machine that
 * has only read the snapshots.
 */
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalBackend, Store, StoreKeys } from '../src/lib/store/index.js';

async function listing(backends: LocalBackend[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const b of backends) {
    const ids: string[] = [];
    for await (const id of b.list()) ids.push(id);
    out.set(b.name, ids.sort());
  }
  return out;
}

async function repo(t: ExecutionContext) {
  const base = await mkdtemp(join(tmpdir(), 'cc-sets-'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const keys = new StoreKeys(randomBytes(32));
  const backends = [0, 1, 2].map((i) => new LocalBackend(`host${i}`, join(base, `host${i}`), { sync: false }));
  const open = async (state: string) => {
    const store = await Store.open({ keys, backends, stateDir: join(base, state) });
    t.teardown(() => store.close());
    return store;
  };
  const source = join(base, 'src');
  await mkdir(source);
  return { backends, open, source };
}

test('the sets are what each backend holds, through push, forget and prune', async (t) => {
  const { backends, open, source } = await repo(t);
  const store = await open('state');
  await writeFile(join(source, 'a.bin'), randomBytes(3 << 20));
  const first = await store.push(source);
  t.deepEqual(await store.sectorSets(), await listing(backends), 'after the first push');
  t.true((await store.sectorSets()).get('host0')!.includes(first.snapshot), 'the snapshot header is in every set');

  await writeFile(join(source, 'b.bin'), randomBytes(2 << 20));
  await store.push(source);
  t.deepEqual(await store.sectorSets(), await listing(backends), 'after a second push');

  await store.forget({ snapshots: [first.snapshot] });
  const afterForget = await store.sectorSets();
  t.false(afterForget.get('host0')!.includes(first.snapshot), 'a forgotten header leaves the sets');
  t.deepEqual(afterForget, await listing(backends));

  await rm(join(source, 'a.bin'));
  await store.push(source);
  await store.forget({ keepLast: 1 });
  const pruned = await store.prune();
  t.true(pruned.deleted > 0, 'prune deleted shards no snapshot needs');
  t.deepEqual(await store.sectorSets(), await listing(backends), 'after forget and prune');
});

test('a new machine learns the headers from a listing and the shards from the snapshots it reads', async (t) => {
  const { backends, open, source } = await repo(t);
  const first = await open('state');
  await writeFile(join(source, 'a.bin'), randomBytes(1 << 20));
  await first.push(source);
  await first.close();

  const fresh = await open('state-2');
  t.deepEqual(await fresh.sectorSets(), new Map(), 'nothing known before anything is read');
  await fresh.push(source);
  t.deepEqual(await fresh.sectorSets(), await listing(backends), 'an unchanged push from a new machine knows every object on the hosts');
});
