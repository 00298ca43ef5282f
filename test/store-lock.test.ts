import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudCoinError, ExitCode } from '../src/lib/errors.js';
import { StoreLock } from '../src/lib/store/lock.js';
import { parseWait } from '../src/lib/units.js';
import { cli } from './util/cli.js';

async function lockPath(t: import('ava').ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cc-lock-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'lock');
}

test('with a wait, the second run takes the lock once the first lets go, having said once who held it', async (t) => {
  const path = await lockPath(t);
  const first = await StoreLock.acquire(path);
  const told: string[] = [];
  const second = StoreLock.acquire(path, { waitMs: 30_000, onWait: (h) => told.push(h) });
  setTimeout(() => void first.release(), 500);
  const lock = await second;
  t.deepEqual(told.length, 1);
  t.regex(told[0], new RegExp(`^pid ${process.pid} on `));
  await lock.release();
});

test('without a wait the lock is refused at once (exit 7), saying how to wait; a wait that runs out says how long it waited', async (t) => {
  const path = await lockPath(t);
  const first = await StoreLock.acquire(path);
  t.teardown(() => first.release());
  const now = await t.throwsAsync(StoreLock.acquire(path), { instanceOf: CloudCoinError });
  t.is(now?.exitCode, ExitCode.conflict);
  t.regex(now!.message, /in use by pid \d+ .*wait for it with --retry-lock$/);
  const after = await t.throwsAsync(StoreLock.acquire(path, { waitMs: 1_000 }), { instanceOf: CloudCoinError });
  t.is(after?.code, 'ELOCKED');
  t.regex(after!.message, /waited 1 s$/);
});

test('Ctrl-C while waiting stops the wait with the interruption\'s error; the holder keeps its lock', async (t) => {
  const path = await lockPath(t);
  const first = await StoreLock.acquire(path);
  t.teardown(() => first.release());
  const controller = new AbortController();
  const waiting = StoreLock.acquire(path, { waitMs: 60_000, signal: controller.signal });
  setTimeout(() => controller.abort(new CloudCoinError('EINTERRUPTED', 'interrupted (SIGINT)', ExitCode.interrupted)), 300);
  const err = await t.throwsAsync(waiting, { instanceOf: CloudCoinError });
  t.is(err?.exitCode, ExitCode.interrupted);
  t.regex(err!.message, /^interrupted \(SIGINT\): the store lock was still held by pid \d+/);
  const again = await t.throwsAsync(StoreLock.acquire(path), { instanceOf: CloudCoinError });
  t.is(again?.code, 'ELOCKED', 'still held by the first');
});

test('--retry-lock reads 0, seconds and units; anything else is a usage error (exit 2) naming the text', async (t) => {
  t.is(parseWait('0'), 0);
  t.is(parseWait('45'), 45);
  t.is(parseWait('5m'), 300);
  t.is(parseWait('1h'), 3600);
  t.throws(() => parseWait('soon'), { message: /wait "soon" is not valid/ });
  const r = await cli(['store', 'snapshots', '--retry-lock', 'soon', '--datadir', await lockPath(t), '--network', 'dev']);
  t.is(r.code, 2);
  t.regex(r.stderr, /^error: wait "soon" is not valid: use e\.g\. 30s, 5m, 1h or 300 \(seconds\)\n$/);
  const help = await cli(['store', 'push', '--help']);
  t.regex(help.stdout, /--retry-lock=<value>/);
});
