/**
 * A store opened with its key still being derived (the promise openKey
 * returns, as every `cloudcoin store` command opens it): a push probes its
 * hosts and walks its source meanwhile and then stores as usual; a wrong
 * passphrase is what every operation reports, at once, having created
 * nothing; the sector worker starts before its keys and waits for them.
 */
import test, { type ExecutionContext } from 'ava';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudCoinError, ExitCode } from '../src/lib/errors.js';
import { HostBackend } from '../src/lib/store/backends/host.js';
import { type Backend, LocalBackend, Store, StoreKeys, initKey, openKey } from '../src/lib/store/index.js';
import { SECTOR_PLAIN_MAX, openShards } from '../src/lib/store/sector.js';
import { SectorWorker } from '../src/lib/store/sectorworker.js';
import { silentServer } from './util/silent.js';
import { walkTree } from './util/tree.js';

function deferred<T>(): { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** A backend whose probe and listing are seen: `probed` settles at the first has(), `listed` at the first list(). */
class Watched implements Backend {
  readonly probed = deferred<void>();
  readonly listed = deferred<void>();
  constructor(readonly inner: Backend) {}
  get name() {
    return this.inner.name;
  }
  has(id: string) {
    this.probed.resolve();
    return this.inner.has(id);
  }
  put(id: string, data: Uint8Array, sha256?: string) {
    return this.inner.put(id, data, sha256);
  }
  get(id: string, into?: Buffer) {
    return this.inner.get(id, into);
  }
  delete(id: string) {
    return this.inner.delete(id);
  }
  list() {
    this.listed.resolve();
    return this.inner.list();
  }
}

/** A real host client against a socket that accepts and never answers (its client would wait 60 s). */
async function muteHost(t: ExecutionContext): Promise<Backend> {
  const url = await silentServer(t);
  return new HostBackend({ name: 'mute', url, contractId: 'ab'.repeat(32), secretKey: randomBytes(32), retries: 0, timeoutMs: 60_000 });
}

async function setup(t: ExecutionContext) {
  const base = await mkdtemp(join(tmpdir(), 'cc-keyahead-'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const dirs = [0, 1, 2].map((i) => join(base, `host${i}`));
  const src = join(base, 'src');
  await mkdir(join(src, 'sub'), { recursive: true });
  await writeFile(join(src, 'big.bin'), randomBytes(6_000_000));
  await writeFile(join(src, 'sub', 'note.txt'), 'written before the key was known\n');
  const keyFile = join(base, 'key');
  await initKey(keyFile, 'right', { name: 'scrypt', N: 2 ** 10, r: 8, p: 1 });
  return { base, dirs, src, keyFile, backends: dirs.map((d, i) => new LocalBackend(`host${i}`, d, { sync: false })) };
}

/** Rejects if `p` has not settled within `ms`: what the test waits for must come without the key. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

test('a push probes its hosts and walks its source before the key is known, then stores as usual', async (t) => {
  const s = await setup(t);
  const hosts = s.backends.map((b) => new Watched(b));
  const keys = deferred<StoreKeys>();
  const store = await Store.open({ keys: keys.promise, backends: hosts, stateDir: join(s.base, 'state') });
  t.teardown(() => {
    // Settled even when the test failed before the key came, or closing would wait for it.
    keys.reject(new Error('no key'));
    return store.close();
  });
  const pushing = store.push(s.src);
  await within(Promise.all(hosts.map((h) => h.probed.promise)), 10_000, 'the probe');
  // The snapshot's time is when its walk began: before the key came, if the walk did not wait for it.
  await new Promise((r) => setTimeout(r, 50));
  const keyTime = new Date().toISOString();
  keys.resolve(await openKey(s.keyFile, 'right'));
  const pushed = await pushing;
  const [snap] = await store.snapshots();
  t.is(snap.id, pushed.snapshot);
  t.true(snap.time < keyTime, `walk began at ${snap.time}, the key came at ${keyTime}`);
  await store.pull('latest', join(s.base, 'out'));
  t.deepEqual(await walkTree(join(s.base, 'out')), await walkTree(s.src));
});

test('snapshots and pull list the hosts before the key is known, then read as usual', async (t) => {
  const s = await setup(t);
  const first = await Store.open({ keys: await openKey(s.keyFile, 'right'), backends: s.backends, stateDir: join(s.base, 'state') });
  const pushed = await first.push(s.src).finally(() => first.close());
  for (const op of ['snapshots', 'pull'] as const) {
    const hosts = s.backends.map((b) => new Watched(b));
    const keys = deferred<StoreKeys>();
    const store = await Store.open({ keys: keys.promise, backends: hosts, stateDir: join(s.base, 'state') });
    try {
      const out = join(s.base, 'out');
      const working = op === 'snapshots' ? store.snapshots() : store.pull('latest', out);
      await within(Promise.all(hosts.map((h) => h.listed.promise)), 10_000, `${op} listing the hosts`);
      keys.resolve(await openKey(s.keyFile, 'right'));
      const done = await working;
      if (op === 'snapshots') t.deepEqual((done as { id: string }[]).map((x) => x.id), [pushed.snapshot]);
      else t.deepEqual(await walkTree(out), await walkTree(s.src));
    } finally {
      keys.reject(new Error('no key'));
      await store.close();
    }
  }
});

test('a wrong passphrase: push, pull and snapshots fail with it at once, even with a host that never answers, and nothing is created', async (t) => {
  const s = await setup(t);
  const stateDir = join(s.base, 'state');
  const mute = await muteHost(t);
  const open = () => Store.open({ keys: openKey(s.keyFile, 'wrong'), backends: [...s.backends, mute], stateDir, probeTimeoutMs: 60_000 });
  for (const op of [(st: Store) => st.push(s.src), (st: Store) => st.pull('latest', join(s.base, 'out')), (st: Store) => st.snapshots()]) {
    const store = await open();
    // Well before the mute host's probe or listing could time out.
    const err = await within(t.throwsAsync(op(store), { instanceOf: CloudCoinError }), 20_000, 'the passphrase error');
    t.is(err?.code, 'EPASSPHRASE');
    await store.close();
  }
  t.deepEqual(await readdir(stateDir), [], 'no index, no lock left');
  for (const d of s.dirs) t.deepEqual(await readdir(d).catch(() => []), [], `nothing on ${d}`);
});

test('a wrong passphrase is reported before a lock another run holds', async (t) => {
  const s = await setup(t);
  const stateDir = join(s.base, 'state');
  const first = await Store.open({ keys: openKey(s.keyFile, 'right'), backends: s.backends, stateDir });
  t.teardown(() => first.close());
  const err = await t.throwsAsync(Store.open({ keys: openKey(s.keyFile, 'wrong'), backends: s.backends, stateDir }), { instanceOf: CloudCoinError });
  t.is(err?.code, 'EPASSPHRASE');
  const locked = await t.throwsAsync(Store.open({ keys: openKey(s.keyFile, 'right'), backends: s.backends, stateDir }), { instanceOf: CloudCoinError });
  t.is(locked?.code, 'ELOCKED');
});

test('the sector worker starts before its keys; a seal asked meanwhile waits for them and uses them', async (t) => {
  const keys = new StoreKeys(randomBytes(32));
  const later = deferred<StoreKeys>();
  const worker = new SectorWorker(later.promise);
  t.teardown(() => worker.close());
  worker.start();
  const plain = Buffer.allocUnsafe(SECTOR_PLAIN_MAX);
  randomBytes(5000).copy(plain);
  const body = Buffer.from(plain.subarray(0, 5000));
  const sealing = worker.seal(plain, 5000, [createHmac('sha256', keys.ids).update(body).digest('hex')], 2, 3);
  setTimeout(() => later.resolve(keys), 100);
  const sealed = await sealing;
  t.true(openShards(keys, sealed.id, [sealed.shards[0], null, sealed.shards[2]], 2, sealed.size).equals(body));

  const failing = new SectorWorker(Promise.reject(new CloudCoinError('EPASSPHRASE', 'wrong passphrase', ExitCode.auth)));
  t.teardown(() => failing.close());
  failing.start();
  const err = await t.throwsAsync(failing.sha256(randomBytes(10)), { instanceOf: CloudCoinError });
  t.is(err?.code, 'EPASSPHRASE');
});
