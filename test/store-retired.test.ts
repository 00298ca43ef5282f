/**
 * A host that is gone once repair has rebuilt its shards elsewhere: check
 * names it retired and is clean. Real
 * LocalBackends; a host is down while its directory's path is a file.
 */
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { localStores } from './util/local-store.js';

async function held(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).filter((p) => /^[0-9a-f]{2}\/[0-9a-f]{64}$/.test(p)).map((p) => p.slice(3)).sort();
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
  t.true(waiting.unavailable.some((u) => u.startsWith(`${name}: `) || u === name), waiting.unavailable.join('; '));

  const fixed = await store.repair({ repairAfter: 0 });
  t.deepEqual([fixed.belowN, fixed.lost, fixed.warnings], [[], [], []]);
  t.true(fixed.shards > 0);
  return { w, store, pushed, gone, name, before };
}

test('a host gone after repair moved its shards is retired: check exits clean, naming it', async (t) => {
  t.timeout(180_000);
  const { store, name } = await repairedAway(t);

  const checked = await store.check();
  t.deepEqual([checked.ok, checked.retired, checked.unavailable, checked.missing], [true, [name], [], []]);
  t.is((await store.status()).overall.health, 100);
});
