import test from 'ava';
import { BufferPool } from '../src/lib/buffer-pool.js';

test('a buffer given back is taken again, and a limit bounds those out', (t) => {
  let made = 0;
  const pool = new BufferPool({ make: (n) => (made++, Buffer.alloc(Math.max(n, 16))), limit: 2 });
  const a = pool.take()!;
  const b = pool.take()!;
  t.is(pool.take(), null, 'two out: the third waits');
  pool.give(a);
  t.is(pool.take(), a, 'the free one comes back');
  pool.give(b);
  t.is(made, 2);
});

test('free buffers too short are dropped, and at most `keep` are kept', (t) => {
  const pool = new BufferPool({ make: (n) => Buffer.alloc(n), keep: 1 });
  const small = pool.take(8)!;
  const other = pool.take(8)!;
  pool.give(small);
  pool.give(other);
  const big = pool.take(32)!;
  t.is(big.length, 32, 'the kept 8-byte buffer does not fit: a new one');
  t.not(big, small);
  pool.give(big);
  t.is(pool.take(8), big, 'a longer one serves a shorter need');
  t.not(pool.take(8), other, 'only one was kept');
});
