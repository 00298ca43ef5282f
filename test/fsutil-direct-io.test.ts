/**
 * writeFileDirect, DirectWriter and readDirect: the file holds exactly the bytes asked for,
 * whatever their count against the 4096-byte blocks O_DIRECT moves, a file is
 * never replaced, any range reads back as written, and directWriteWorks tells
 * where all that can be used without leaving a trace.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { constants } from 'node:fs';
import { mkdtemp, open, readdir, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIRECT_ALIGN, DirectWriter, alignedBuffer, directWriteWorks, readDirect, writeFileDirect } from '../src/lib/fsutil/direct-io.js';

const dir = await mkdtemp(join(tmpdir(), 'cc-direct-'));
const works = await directWriteWorks(dir);
test.after.always(() => rm(dir, { recursive: true, force: true }));

test('aligned buffers come in 64 KiB steps, zeroed', (t) => {
  const b = alignedBuffer(128 * 1024);
  t.is(b.length, 128 * 1024);
  t.true(b.every((x) => x === 0));
  for (const bad of [0, 4096, 65_537, -65_536, 1.5]) t.throws(() => alignedBuffer(bad), { instanceOf: RangeError }, String(bad));
});

/** statfs magic numbers of file systems that take O_DIRECT: ext2/3/4, xfs, btrfs. */
const _DIRECT_FS = new Set([0xef53, 0x58465342, 0x9123683e]);

test('the probe says yes on file systems known to take O_DIRECT, and leaves nothing behind', async (t) => {
  t.is(typeof works, 'boolean');
  if (_DIRECT_FS.has((await statfs(dir)).type)) t.true(works, 'a probe that always said no would turn direct writes off unseen');
  t.deepEqual(await readdir(dir).then((names) => names.filter((n) => n.startsWith('.direct-probe'))), []);
});

(works ? test : test.skip)(`files hold exactly the bytes asked for${works ? '' : ` (skipped: ${tmpdir()} refuses O_DIRECT)`}`, async (t) => {
  const buf = alignedBuffer(2 * 65_536);
  for (const size of [0, 1, DIRECT_ALIGN - 1, DIRECT_ALIGN, DIRECT_ALIGN + 1, 65_536 + 3, 2 * 65_536]) {
    const data = randomBytes(size);
    buf.fill(0xff);
    data.copy(buf);
    const path = join(dir, `f${size}`);
    await writeFileDirect(path, buf, size);
    t.true(readFileSync(path).equals(data), `${size} bytes`);
  }
});

(works ? test : test.skip)('an existing file is never replaced, and a buffer too short for the last block is refused', async (t) => {
  const path = join(dir, 'kept');
  writeFileSync(path, 'kept');
  const buf = alignedBuffer(65_536);
  await t.throwsAsync(writeFileDirect(path, buf, 10), { code: 'EEXIST' });
  t.is(readFileSync(path, 'utf8'), 'kept');
  await t.throwsAsync(writeFileDirect(join(dir, 'short'), buf.subarray(0, 5000), 5000), { instanceOf: RangeError });
});

(works ? test : test.skip)('any range reads back as written, and a range past the end is refused', async (t) => {
  const size = 3 * DIRECT_ALIGN + 100;
  const data = randomBytes(size);
  const buf = alignedBuffer(65_536);
  data.copy(buf);
  const path = join(dir, 'ranges');
  await writeFileDirect(path, buf, size);
  const fh = await open(path, constants.O_RDONLY | constants.O_DIRECT);
  try {
    const into = alignedBuffer(65_536);
    for (const [at, len] of [[0, size], [0, 1], [1, 10], [DIRECT_ALIGN - 1, 2], [DIRECT_ALIGN, DIRECT_ALIGN], [size - 1, 1], [5000, size - 5000], [size, 0]]) {
      t.true((await readDirect(fh, into, at, len)).equals(data.subarray(at, at + len)), `${len} bytes at ${at}`);
    }
    await t.throwsAsync(readDirect(fh, into, size - 10, 11), { message: /file ended after/ });
    await t.throwsAsync(readDirect(fh, into.subarray(0, DIRECT_ALIGN), 10, DIRECT_ALIGN), { instanceOf: RangeError });
  } finally {
    await fh.close();
  }
});

(works ? test : test.skip)('a DirectWriter file is exactly the pieces written, across and within its buffer', async (t) => {
  for (const pieces of [[], [1], [65_536], [65_535, 2], [100, 70_000, 3, 65_536 * 2 + 7], [DIRECT_ALIGN, DIRECT_ALIGN]]) {
    const data = pieces.map((n) => randomBytes(n));
    const path = join(dir, `w${pieces.join('-')}`);
    const w = await DirectWriter.create(path, alignedBuffer(65_536), 0o600);
    try {
      for (const d of data) await w.write(d);
      await w.end();
      t.is(w.size, data.reduce((s, d) => s + d.length, 0));
    } finally {
      await w.handle.close();
    }
    t.true(readFileSync(path).equals(Buffer.concat(data)), pieces.join(' + ') || 'nothing');
  }
  await t.throwsAsync(DirectWriter.create(join(dir, 'w-odd'), Buffer.alloc(1000)), { instanceOf: RangeError });
});
