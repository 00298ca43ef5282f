/**
 * A store on three LocalBackends in a temp dir (removed on teardown): `open`
 * gives a Store over them with a state directory of its own, as a second
 * machine with the same key would have; `source` is an empty directory to push.
 */
import type { ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalBackend, Store, StoreKeys } from '../../src/lib/store/index.js';

export async function localStores(t: ExecutionContext, prefix: string) {
  const base = await mkdtemp(join(tmpdir(), prefix));
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
  return { base, backends, open, source };
}
