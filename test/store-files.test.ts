/**
 * Files that change between the walk and their read (files.ts): a small file
 * that grew past the small-file limit is streamed, whole; a small and a big
 * file that became unreadable are reported and left out, and so is a hard
 * link to one of them; the rest is stored. The push's key is held back to
 * change the tree after the walk (a push walks before its key is known).
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { appendFile, link, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate } from 'node:timers/promises';
import { LocalBackend, Store, StoreKeys } from '../src/lib/store/index.js';

test('files that grow or become unreadable after the walk: streamed whole, or reported and left out with their hard links', async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'cc-files-'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const src = join(base, 'src');
  await mkdir(join(src, 'small'), { recursive: true });
  const big = randomBytes(3_000_000);
  await writeFile(join(src, 'big.bin'), big);
  await writeFile(join(src, 'turns-dir.bin'), randomBytes(1_000_000));
  await writeFile(join(src, 'grows.txt'), 'small at the walk\n');
  await writeFile(join(src, 'gone.txt'), 'read never\n');
  await link(join(src, 'gone.txt'), join(src, 'link-to-gone'));
  for (let i = 0; i < 600; i++) await writeFile(join(src, 'small', `f${i}`), `file ${i}\n`);

  let giveKey!: (k: StoreKeys) => void;
  const keys = new Promise<StoreKeys>((resolve) => (giveKey = resolve));
  const backends = [0, 1, 2].map((i) => new LocalBackend(`host${i}`, join(base, `host${i}`), { sync: false }));
  const store = await Store.open({ keys, backends, stateDir: join(base, 'state') });
  t.teardown(() => store.close());
  const pushing = store.push(src);
  await setImmediate();
  const growth = randomBytes(1_500_000);
  await appendFile(join(src, 'grows.txt'), growth);
  for (const name of ['gone.txt', 'turns-dir.bin']) {
    await rm(join(src, name));
    await mkdir(join(src, name));
  }
  giveKey(new StoreKeys(randomBytes(32)));
  const pushed = await pushing;

  t.deepEqual(pushed.skipped.sort(), ['gone.txt: EISDIR', 'turns-dir.bin: EISDIR']);
  const out = join(base, 'out');
  await store.pull('latest', out);
  t.deepEqual((await readdir(out)).sort(), ['big.bin', 'grows.txt', 'small']);
  t.true((await readFile(join(out, 'big.bin'))).equals(big));
  t.true((await readFile(join(out, 'grows.txt'))).equals(Buffer.concat([Buffer.from('small at the walk\n'), growth])));
  t.is((await readdir(join(out, 'small'))).length, 600);
  t.is(await readFile(join(out, 'small', 'f599'), 'utf8'), 'file 599\n');
});
