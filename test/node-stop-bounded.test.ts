/**
 * Stops that cannot hang for ever: the daemon waits for its background work
 * only so long before it closes the node under it, and `devnet down` kills a
 * node still running a while after SIGTERM (a stopped process here: SIGSTOP
 * holds the SIGTERM pending, as a node whose stop hangs would ignore it).
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, PID_FILE } from '../src/lib/node/datafiles.js';
import { stopNodeOrKill } from '../src/lib/node/control.js';
import { settledWithin } from '../src/lib/settled-within.js';
import { devNode } from './util/devnode.js';

test('settledWithin: work that never ends is left after its time, named once; work that ends or fails is waited for', async (t) => {
  const late: string[] = [];
  t.false(await settledWithin(new Promise(() => {}), 20, 'the round', (l) => late.push(l)));
  t.deepEqual(late, ['stopping: the round did not finish within 0.02 s; stopping without it']);
  t.true(await settledWithin(new Promise((r) => setTimeout(r, 10)), 5_000, 'x', (l) => late.push(l)));
  t.true(await settledWithin(Promise.reject(new Error('its own failure')), 5_000, 'x', (l) => late.push(l)));
  t.true(await settledWithin(undefined, 5_000, 'x', (l) => late.push(l)));
  t.is(late.length, 1);
});

test.serial('stopNodeOrKill: a node that stops is stopped; one that does not stop within the time is killed', async (t) => {
  const a = await devNode(t);
  t.true(await stopNodeOrKill(a.datadir, 60_000), 'stopped by itself');
  t.false(existsSync(join(a.datadir, PID_FILE)));

  const b = await devNode(t);
  const pid = b.pid()!;
  process.kill(pid, 'SIGSTOP');
  t.teardown(() => { if (isAlive(pid)) process.kill(pid, 'SIGKILL'); });
  t.false(await stopNodeOrKill(b.datadir, 1_500), 'killed');
  t.false(isAlive(pid), 'the process is gone');
  t.false(existsSync(join(b.datadir, PID_FILE)));
});
