/**
 * The source walk on a real directory: entries in sorted pre-order with their
 * kinds, and the event loop still served while a long walk runs (its calls
 * are synchronous, so it has to make room for signals and progress itself).
 */
import test from 'ava';
import { link, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { walk } from '../src/lib/store/walker.js';

test('entries come in sorted pre-order: directories, files, symlinks unfollowed, hard links to the first name', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'cc-walk-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, 'b/c'), { recursive: true });
  await writeFile(join(root, 'a'), 'x');
  await writeFile(join(root, 'b/c/d'), 'yy');
  await link(join(root, 'a'), join(root, 'b/e'));
  await symlink('../nowhere', join(root, 'b/f'));
  const { entries, skipped } = await walk(root);
  t.deepEqual(
    entries.map((e) => [e.path, e.type, e.target ?? e.size]),
    [
      ['a', 'file', 1],
      ['b', 'directory', 0],
      ['b/c', 'directory', 0],
      ['b/c/d', 'file', 2],
      ['b/e', 'link', 'a'],
      ['b/f', 'symlink', '../nowhere'],
    ],
  );
  t.deepEqual(skipped, []);
});

test('a long walk lets the event loop run', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'cc-walk-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  for (let d = 0; d < 10; d++) {
    await mkdir(join(root, `d${d}`));
    await Promise.all(Array.from({ length: 200 }, (_, i) => writeFile(join(root, `d${d}`, `f${i}`), '')));
  }
  let turns = 0;
  let done = false;
  const tick = () => {
    turns++;
    if (!done) setImmediate(tick);
  };
  setImmediate(tick);
  const { entries } = await walk(root);
  done = true;
  t.is(entries.length, 10 * 201);
  t.true(turns >= 4, `the event loop ran ${turns} times during the walk`);
});
