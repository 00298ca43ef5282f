/**
 * writeAll and writeAllSync: every byte reaches the file even when writev(2)
 * writes less than asked, as it does on a disk filling up, and a write that
 * makes no progress is ENOSPC rather than a loop or a silently short file.
 */
import test from 'ava';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDiskFull, writeAll, writeAllSync } from '../src/lib/fsutil/write-all.js';

/** A handle whose writev takes at most `step` bytes a call (0: none), as the kernel may. */
function shortWriter(step: number): { fh: FileHandle; written: Buffer[] } {
  const written: Buffer[] = [];
  const fh = {
    async writev(buffers: Uint8Array[]) {
      let left = step;
      for (const b of buffers) {
        if (left === 0) break;
        const n = Math.min(left, b.length);
        written.push(Buffer.from(b.subarray(0, n)));
        left -= n;
      }
      return { bytesWritten: step - left, buffers };
    },
  } as unknown as FileHandle;
  return { fh, written };
}

test('short writes are continued where they stopped, across and within buffers', async (t) => {
  const parts = [Buffer.from('hello '), Buffer.alloc(0), Buffer.from('wide '), Buffer.from('world')];
  for (const step of [1, 3, 5, 7, 100]) {
    const { fh, written } = shortWriter(step);
    await writeAll(fh, parts);
    t.is(Buffer.concat(written).toString(), 'hello wide world', `step ${step}`);
  }
});

test('a write that makes no progress is ENOSPC', async (t) => {
  const { fh } = shortWriter(0);
  const err = await t.throwsAsync(writeAll(fh, [Buffer.from('x')]));
  t.is((err as NodeJS.ErrnoException).code, 'ENOSPC');
});

test('writeAllSync writes every buffer to a real file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cc-writeall-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const fd = openSync(join(dir, 'f'), 'w');
  writeAllSync(fd, [Buffer.from('a'), Buffer.alloc(0), Buffer.alloc(300_000, 1), Buffer.from('z')]);
  closeSync(fd);
  const back = readFileSync(join(dir, 'f'));
  t.is(back.length, 300_002);
  t.is(back[0], 0x61);
  t.is(back[back.length - 1], 0x7a);
});

test('isDiskFull knows an errno, LevelDB\'s words for it, and either behind a cause; nothing else', (t) => {
  const level = (message: string) => Object.assign(new Error(message), { code: 'LEVEL_IO_ERROR' });
  t.true(isDiskFull(Object.assign(new Error('write'), { code: 'ENOSPC' })));
  t.true(isDiskFull(Object.assign(new Error('write'), { code: 'EDQUOT' })));
  t.true(isDiskFull(level('IO error: /s/index/000003.log: No space left on device')));
  t.true(isDiskFull(level('IO error: /s/index/000005.ldb: Disk quota exceeded')));
  t.true(isDiskFull(new Error('Database failed to open', { cause: level('IO error: /s/index/MANIFEST-000002: No space left on device') })));
  t.false(isDiskFull(level('IO error: /s/index/LOCK: Permission denied')));
  t.false(isDiskFull(new Error('host0: No space left on device')));
  t.false(isDiskFull(Object.assign(new Error('open'), { code: 'EACCES' })));
  t.false(isDiskFull(undefined));
  const loop: any = new Error('loop');
  loop.cause = loop;
  t.false(isDiskFull(loop));
});
