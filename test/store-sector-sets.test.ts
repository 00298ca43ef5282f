/**
 * Store.sectorSets(): what the local index says each backend holds is what the
 * backend lists, after a push, a forget, a prune, and on a new machine that
 * has only read the snapshots; and, through `cloudcoin store push` on real
 * nodes, what a host's file server lists for the contract.
 */
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileServerClient } from '../src/lib/server/index.js';
import { HostBackend, LocalBackend, Store, openKey, storePaths } from '../src/lib/store/index.js';
import { localStores } from './util/local-store.js';
import { TEST_PASSPHRASE, cliOk } from './util/cli.js';
import { tempDir } from './util/devnode.js';
import { negotiated } from './util/serve.js';

async function listing(backends: LocalBackend[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const b of backends) {
    const ids: string[] = [];
    for await (const id of b.list()) ids.push(id);
    out.set(b.name, ids.sort());
  }
  return out;
}

function repo(t: ExecutionContext) {
  return localStores(t, 'cc-sets-');
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

test.serial('after store push on real nodes, the set of the contract is what its host\'s file server lists', async (t) => {
  const { renter, host, contractId, renterKey } = await negotiated(t, 50);
  const source = join(tempDir(t), 'src');
  await mkdir(source);
  await writeFile(join(source, 'a.bin'), randomBytes(300_000));
  await cliOk(['store', 'init', '--datadir', renter.datadir]);
  // Its node may not take the set yet (no route before the fulfilment daemon): the push succeeds all the same.
  await cliOk(['store', 'push', source, '--total-shards', '1', '--datadir', renter.datadir]);

  const hostKey = (await cliOk(['contract', 'show', contractId, '--datadir', renter.datadir, '--json'])).json.hostKey;
  const paths = storePaths(renter.datadir);
  const backend = new HostBackend({ name: hostKey, url: host.serverUrl, contractId, secretKey: renterKey });
  const store = await Store.open({ keys: await openKey(paths.key, TEST_PASSPHRASE), backends: [backend], stateDir: paths.dir });
  t.teardown(() => store.close());
  const held = (await new FileServerClient({ url: host.serverUrl, contractId, secretKey: renterKey }).list()).sectors.map((s) => s.id);
  t.true(held.length >= 2, 'a shard and the snapshot header at least');
  t.deepEqual(await store.sectorSets(), new Map([[hostKey, held]]));
});
