/**
 * Pace, which the small-file lanes of push and pull follow: a share is
 * reached once the leader has done that share of its bytes, or has ended.
 */
import test from 'ava';
import { Pace } from '../src/lib/store/pace.js';

const settled = async (p: Promise<void>) => {
  let done = false;
  void p.then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  return done;
};

test('a share is reached once the leader has done that share of its bytes', async (t) => {
  const pace = new Pace(1000);
  t.true(await settled(pace.reach(0)));
  const half = pace.reach(0.5);
  pace.advance(300);
  t.false(await settled(half));
  pace.advance(200);
  t.true(await settled(half));
});

test('every share is reached once the leader ends, whatever it did', async (t) => {
  const pace = new Pace(1000);
  const all = pace.reach(1);
  pace.advance(10);
  t.false(await settled(all));
  pace.end();
  t.true(await settled(all));
  t.true(await settled(pace.reach(1)));
});

test('a leader with no bytes holds nothing back; a negative or NaN total is refused', async (t) => {
  t.true(await settled(new Pace(0).reach(1)));
  t.throws(() => new Pace(-1), { instanceOf: RangeError });
  t.throws(() => new Pace(NaN), { instanceOf: RangeError });
});
