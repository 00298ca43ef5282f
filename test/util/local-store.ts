/**
 * A store on LocalBackends (three unless told) in a temp dir (removed on
 * teardown): `open` gives a Store over them with a state directory of its
 * own, as a second machine with the same key would have; `source` is an empty
 * directory to push. `down(i)` makes host i fail every call (its directory's
 * path becomes a file: ENOTDIR) until `up(i)` puts it back as it was.
 */
import type { ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalBackend, Store, StoreKeys } from '../../src/lib/store/index.js';

export async function localStores(t: ExecutionContext, prefix: string, count = 3) {
  const base = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const keys = new StoreKeys(randomBytes(32));
  const dirs = Array.from({ length: count }, (_, i) => join(base, `host${i}`));
  const backends = dirs.map((d, i) => new LocalBackend(`host${i}`, d, { sync: false }));
  const open = async (state: string) => {
    const store = await Store.open({ keys, backends, stateDir: join(base, state) });
    t.teardown(() => store.close());
    return store;
  };
  const down = async (i: number) => {
    await mkdir(dirs[i], { recursive: true });
    await rename(dirs[i], `${dirs[i]}.away`);
    await writeFile(dirs[i], 'down');
  };
  const up = async (i: number) => {
    await rm(dirs[i]);
    await rename(`${dirs[i]}.away`, dirs[i]);
  };
  const source = join(base, 'src');
  await mkdir(source);
  return { base, dirs, backends, open, source, down, up };
}
