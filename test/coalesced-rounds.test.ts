/**
 * The runner behind the daemon's background loops (fulfilment, registry
 * indexer, wallet rebroadcast): rounds never overlap, asks during a round
 * coalesce into one more, close() waits and stops, a failing round does not
 * wedge it, and events and the timer wake it.
 */
import test from 'ava';
import { EventEmitter } from 'node:events';
import { CoalescedRounds } from '../src/lib/coalesced-rounds.js';

/** A promise and the function that resolves it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** Rounds that each wait for a gate of their own, opened by the test. */
function gatedRounds() {
  const gates: ReturnType<typeof gate>[] = [];
  const starts: ReturnType<typeof gate>[] = [];
  const start = (i: number) => (starts[i] ??= gate());
  let inRound = false;
  let overlapped = false;
  const rounds = new CoalescedRounds(async () => {
    overlapped ||= inRound;
    inRound = true;
    const g = gate();
    start(gates.push(g) - 1).open();
    await g.opened;
    inRound = false;
  });
  return {
    rounds,
    gates,
    /** Resolves once round `i` (from 0) has begun. */
    started: (i: number) => start(i).opened,
    overlapped: () => overlapped,
  };
}

/** Settles to 'pending' when `p` has not settled once the microtask queue and a timer turn have run. */
async function state(p: Promise<unknown>): Promise<'resolved' | 'rejected' | 'pending'> {
  return Promise.race([
    p.then(() => 'resolved' as const, () => 'rejected' as const),
    new Promise<'pending'>((resolve) => setImmediate(() => resolve('pending'))),
  ]);
}

test('calls while a round runs coalesce into exactly one more round', async (t) => {
  const g = gatedRounds();
  const first = g.rounds.run();
  await g.started(0);
  const waiting = [g.rounds.run(), g.rounds.run(), g.rounds.run(), g.rounds.run()];
  t.is(g.gates.length, 1, 'no second round while the first runs');
  g.gates[0].open();
  await g.started(1);
  t.is(await state(waiting[0]), 'pending', 'a caller during the first round waits for the round after it');
  g.gates[1].open();
  await Promise.all([first, ...waiting]);
  t.is(g.gates.length, 2, 'four calls, one more round');
  t.false(g.overlapped());
});

test('a call with no round running starts one at once and resolves when it ends', async (t) => {
  let ran = 0;
  const rounds = new CoalescedRounds(async () => void ran++);
  await rounds.run();
  await rounds.run();
  t.is(ran, 2);
});

test('close waits for the running round and runs none after it, even one asked for', async (t) => {
  const g = gatedRounds();
  const running = g.rounds.run();
  await g.started(0);
  void g.rounds.run();
  const closing = g.rounds.close();
  t.true(g.rounds.closed, 'a round sees close() at once');
  t.is(await state(closing), 'pending', 'close waits for the round');
  g.gates[0].open();
  await closing;
  await running;
  t.is(g.gates.length, 1, 'the round asked for is not run after close');
  await g.rounds.run();
  t.is(g.gates.length, 1, 'run after close resolves without a round');
});

test('a round that throws rejects its pass, and the next call runs again', async (t) => {
  let fail = true;
  let ran = 0;
  const failed = gate();
  const rounds = new CoalescedRounds(async () => {
    ran++;
    if (fail) {
      await failed.opened;
      throw new Error('round broke');
    }
  });
  const first = rounds.run();
  const joined = rounds.run();
  failed.open();
  await t.throwsAsync(first, { message: 'round broke' });
  await t.throwsAsync(joined, { message: 'round broke' }, 'a caller that joined the pass sees its failure');
  t.is(ran, 1, 'the failure ends the pass: the round asked for during it is not run');
  fail = false;
  await rounds.run();
  t.is(ran, 2, 'not wedged');
  await rounds.close();
});

test('close resolves though the running round fails: the failure is its caller\'s', async (t) => {
  const failed = gate();
  const rounds = new CoalescedRounds(async () => {
    await failed.opened;
    throw new Error('round broke');
  });
  const running = rounds.run();
  const closing = rounds.close();
  failed.open();
  await t.notThrowsAsync(closing);
  await t.throwsAsync(running, { message: 'round broke' });
});

test('requestAgain inside a round runs one more; outside a round it does nothing', async (t) => {
  let ran = 0;
  const rounds = new CoalescedRounds(async () => {
    if (++ran === 1) rounds.requestAgain();
  });
  rounds.requestAgain();
  t.is(ran, 0);
  await rounds.run();
  t.is(ran, 2, 'the round that asked, then one more');
  await rounds.run();
  t.is(ran, 3);
});

test('events and the timer wake rounds until close, which removes both', async (t) => {
  const emitter = new EventEmitter();
  let ran = 0;
  let reached = gate();
  let target = 1;
  const rounds = new CoalescedRounds(async () => {
    if (++ran >= target) reached.open();
  });
  rounds.wakeOn(emitter, ['connect', 'disconnect']);
  emitter.emit('connect');
  await reached.opened;
  t.is(ran, 1);
  reached = gate();
  target = 2;
  emitter.emit('disconnect');
  await reached.opened;
  t.is(ran, 2);

  reached = gate();
  target = 5;
  // The runner's timer is unref'd: without a handle of the test's own the worker would exit while it waits.
  const keepAlive = setTimeout(() => {}, 600_000);
  t.teardown(() => clearTimeout(keepAlive));
  rounds.wakeOn(emitter, [], { everyMs: 5 });
  await reached.opened;
  t.true(ran >= 5, 'the timer runs rounds with no event');

  await rounds.close();
  t.is(emitter.listenerCount('connect') + emitter.listenerCount('disconnect'), 0);
  const after = ran;
  emitter.emit('connect');
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.is(ran, after, 'no round from an event or the timer after close');
});

test('a woken round\'s failure goes to onError', async (t) => {
  const emitter = new EventEmitter();
  const seen = gate();
  let message = '';
  const rounds = new CoalescedRounds(async () => {
    throw new Error('woken round broke');
  });
  rounds.wakeOn(emitter, ['connect'], {
    onError: (err) => {
      message = err.message;
      seen.open();
    },
  });
  emitter.emit('connect');
  await seen.opened;
  t.is(message, 'woken round broke');
  await rounds.close();
});
