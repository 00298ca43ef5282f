/**
 * push when some hosts do not answer: the engine probes every backend first
 * and stores on those that answer, at reduced redundancy (with a warning)
 * when fewer answer than the policy wants, or refuses (writing nothing) when
 * fewer than k do; n and k as set are honoured. Real LocalBackends throughout: a host is
 * "down" when its directory's path is a file, so every call fails with
 * ENOTDIR. The usage checks of `store push --total-shards/--min-shards` that
 * need no node run through the real CLI.
 */
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudCoinError, ExitCode } from '../src/lib/errors.js';
import { HostBackend } from '../src/lib/store/backends/host.js';
import { type Backend, LocalBackend, Store, StoreKeys } from '../src/lib/store/index.js';
import { cli } from './util/cli.js';
import { silentServer } from './util/silent.js';
import { walkTree } from './util/tree.js';

interface Hosts {
  base: string;
  src: string;
  dirs: string[];
  backends: LocalBackend[];
  open(o?: { n?: number; k?: number; backends?: Backend[]; probeTimeoutMs?: number }): Promise<Store>;
}

/** `count` local hosts (those in `down` not answering) and a source of a few files spanning several sectors. */
async function hosts(t: ExecutionContext, count: number, down: number[]): Promise<Hosts> {
  const base = await mkdtemp(join(tmpdir(), 'cc-hostsdown-'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const dirs = Array.from({ length: count }, (_, i) => join(base, `host${i}`));
  for (const i of down) await writeFile(dirs[i], 'not a directory');
  const backends = dirs.map((d, i) => new LocalBackend(`host${i}`, d, { sync: false }));
  const src = join(base, 'src');
  await mkdir(join(src, 'sub'), { recursive: true });
  await writeFile(join(src, 'big.bin'), randomBytes(12_000_000));
  await writeFile(join(src, 'sub', 'note.txt'), 'still here\n');
  const keys = new StoreKeys(randomBytes(32));
  let opened = 0;
  const open = async (o: { n?: number; k?: number; backends?: Backend[]; probeTimeoutMs?: number } = {}) => {
    const store = await Store.open({ keys, backends: o.backends ?? backends, stateDir: join(base, `state${opened++}`), n: o.n, k: o.k, probeTimeoutMs: o.probeTimeoutMs, retryDelayMs: 1 });
    t.teardown(() => store.close());
    return store;
  };
  return { base, src, dirs, backends, open };
}

/** Object ids a live host holds; a down one holds nothing. */
async function held(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true }).catch(() => [] as string[])).filter((p) => /^[0-9a-f]{2}\/[0-9a-f]{64}$/.test(p)).map((p) => p.slice(3));
}

async function pullsIdentical(t: ExecutionContext, store: Store, snapshot: string, src: string, target: string): Promise<void> {
  const res = await store.pull(snapshot, target);
  t.deepEqual(res.errors, []);
  t.deepEqual((await walkTree(target)).entries, (await walkTree(src)).entries);
}

test('one of four hosts down: the push stores 2-of-3 on the three that answer (reduced from 2-of-4, with a warning), names the fourth, and pulls back identical', async (t) => {
  const h = await hosts(t, 4, [2]);
  const store = await h.open();
  const r = await store.push(h.src);
  t.deepEqual(r.hostsDown.map((d) => d.backend), ['host2']);
  t.regex(r.hostsDown[0].reason, /ENOTDIR/);
  t.deepEqual([r.n, r.k, r.warnings], [3, 2, ['reduced redundancy: 3 of 4 shards per new sector (host2 did not answer); store repair rebuilds the rest']]);
  t.true(r.queued > 0);
  const snap = await store.snapshot(r.snapshot);
  t.true(snap.sectors.length >= 3, 'several sectors, so the rotation is seen');
  const used = new Set<string>();
  for (const sector of [...snap.sectors, ...snap.header.sectors]) {
    const names = sector.shards.map((s) => s[1]);
    t.is(sector.k, 2);
    t.is(new Set(names).size, 3, 'three shards on three different hosts');
    for (const name of names) used.add(name);
  }
  t.deepEqual([...used].sort(), ['host0', 'host1', 'host3']);
  for (const i of [0, 1, 3]) t.true((await held(h.dirs[i])).includes(r.snapshot), `the manifest is on host${i}`);

  // The host comes back: nothing of this snapshot is expected there, so check is clean.
  await rm(h.dirs[2]);
  t.true((await store.check({ readData: true })).ok);
  await pullsIdentical(t, store, r.snapshot, h.src, join(h.base, 'out'));
});

test('two of four hosts up: push stores 2-of-2 with a NO redundancy warning; one up: EHOSTSDOWN naming the others, exit 1, and nothing written', async (t) => {
  const h = await hosts(t, 4, [1, 3]);
  const store = await h.open();
  const bare = await store.push(h.src);
  t.deepEqual([bare.n, bare.k, bare.hostsDown.map((d) => d.backend)], [2, 2, ['host1', 'host3']]);
  t.is(bare.warnings.length, 1);
  t.regex(bare.warnings[0], /^reduced redundancy: 2 of 4 shards per new sector \(host1, host3 did not answer\), and NO redundancy/);
  await pullsIdentical(t, store, bare.snapshot, h.src, join(h.base, 'out-bare'));

  const lone = await hosts(t, 4, [1, 2, 3]);
  const alone = await lone.open();
  const err = await t.throwsAsync(alone.push(lone.src), { instanceOf: CloudCoinError });
  t.is(err?.code, 'EHOSTSDOWN');
  t.is(err?.exitCode, ExitCode.failure);
  t.is(err?.message, 'only 1 of 4 hosts answered (down: host1, host2, host3); k = 2 (the renter policy) needs at least 2');
  t.deepEqual(await held(lone.dirs[0]), []);
  t.deepEqual(await alone.snapshots(), []);

  // n = 3 set explicitly cannot be met either; n = 2 can.
  const three = await h.open({ n: 3 });
  await t.throwsAsync(three.push(h.src), { instanceOf: CloudCoinError, message: 'only 2 of 4 hosts answered (down: host1, host3); n = 3 shards (--total-shards) need 3' });
  const two = await h.open({ n: 2 });
  const r = await two.push(h.src);
  t.deepEqual([r.n, r.k, r.hostsDown.map((d) => d.backend)], [2, 1, ['host1', 'host3']]);
  await pullsIdentical(t, two, r.snapshot, h.src, join(h.base, 'out'));
});

test('n and k as set: n shards a sector over all the hosts that answer, and any k of them rebuild it', async (t) => {
  const h = await hosts(t, 5, [4]);
  const store = await h.open({ n: 3, k: 2 });
  const r = await store.push(h.src);
  t.deepEqual([r.n, r.k, r.hostsDown.map((d) => d.backend)], [3, 2, ['host4']]);
  const sectors = (await store.snapshot(r.snapshot)).sectors;
  for (const sector of sectors) {
    t.is(sector.k, 2);
    t.is(new Set(sector.shards.map((s) => s[1])).size, 3);
  }
  // format.md: shard i goes to the (rotation + i)-th of the hosts that answered, rotation = the
  // sector id's first 4 bytes mod their count. (Asking that a few sectors cover every host
  // failed one run in 16: three sectors can all skip the same one of four hosts.)
  const up = ['host0', 'host1', 'host2', 'host3'];
  for (const sector of sectors) {
    const rotation = parseInt(sector.id.slice(0, 8), 16) % up.length;
    t.deepEqual(sector.shards.map((x) => x[1]), [0, 1, 2].map((i) => up[(rotation + i) % up.length]), `sector ${sector.id}`);
  }

  // Each live host down in turn leaves every sector at least k = 2 of its 3 shards.
  for (const i of [0, 1, 2, 3]) {
    await rename(h.dirs[i], `${h.dirs[i]}.away`);
    await writeFile(h.dirs[i], 'down');
    await pullsIdentical(t, store, r.snapshot, h.src, join(h.base, `out-without-${i}`));
    await rm(h.dirs[i]);
    await rename(`${h.dirs[i]}.away`, h.dirs[i]);
  }

  // k alone: n is every host that answers.
  const other = join(h.base, 'other');
  await mkdir(other);
  await writeFile(join(other, 'new.bin'), randomBytes(1_000_000));
  const kOnly = await (await h.open({ k: 3 })).push(other);
  t.deepEqual([kOnly.n, kOnly.k], [4, 3]);
  t.is((await store.snapshots()).length, 2);
  const fresh = await h.open();
  for (const sector of (await fresh.snapshot(kOnly.snapshot)).sectors) t.deepEqual([sector.k, sector.shards.length], [3, 4]);
});

test('a host that does not answer within the probe timeout is down, and the push goes on without it', async (t) => {
  // A socket that accepts and never answers: the probe waits 1.5 s for it. Its HTTP client would wait
  // 10 minutes, so a push that waited for anything else of it (its snapshot listing, say) would not
  // finish within this test's timeout.
  t.timeout(60_000);
  const url = await silentServer(t);
  const h = await hosts(t, 3, []);
  const mute = new HostBackend({ name: 'mute', url, contractId: 'ab'.repeat(32), secretKey: randomBytes(32), retries: 0, timeoutMs: 600_000 });
  const r = await (await h.open({ backends: [...h.backends, mute], probeTimeoutMs: 1500 })).push(h.src);
  t.deepEqual(r.hostsDown, [{ backend: 'mute', reason: 'no answer in 1500 ms' }]);
  // Pulled without the mute host: listing snapshots would wait for its client's timeout.
  await pullsIdentical(t, await h.open(), r.snapshot, h.src, join(h.base, 'out'));
});

test('store push --total-shards/--min-shards: bad values are one-line usage errors (exit 2); --help shows them', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cc-hostsdown-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const cases: [string[], RegExp][] = [
    [['--total-shards', '0'], /^error: Parsing --total-shards Expected an integer greater than or equal to 1 but received: 0$/],
    [['--min-shards', '1.5'], /^error: Parsing --min-shards Expected an integer but received: 1\.5$/],
    [['--total-shards', '2', '--min-shards', '3'], /^error: --min-shards 3 is more than --total-shards 2: any k of the n shards rebuild a sector, so k <= n$/],
  ];
  for (const [flags, pattern] of cases) {
    const r = await cli(['store', 'push', dir, ...flags, '--datadir', join(dir, 'data'), '--network', 'dev']);
    t.is(r.code, 2, flags.join(' '));
    t.regex(r.stderr.trimEnd(), pattern);
    t.is(r.stderr.trimEnd().split('\n').length, 1);
  }
  const help = await cli(['store', 'push', '--help']);
  t.regex(help.stdout, /--total-shards=<value>[\s\S]*--min-shards 3/);
  t.regex(help.stdout, /--min-shards=<value>/);
});
