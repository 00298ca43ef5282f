/**
 * Writing every byte of a list of buffers to a file. writev(2) may write less
 * than asked (a disk filling up does that before it fails with ENOSPC), and a
 * short write that went unnoticed would leave a truncated file behind a
 * successful call: the file server would store a truncated sector, a restore a
 * truncated file.
 */
import { writevSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/**
 * Whether a write failed for want of space: the disk is full or the user's quota spent.
 * LevelDB says so only in words (LEVEL_IO_ERROR carries no errno), and a wrapper may
 * hold the real error as its cause (a failed open does).
 */
export function isDiskFull(err: unknown): boolean {
  // The bound guards against a cause chain that loops.
  for (let e: any = err, depth = 0; e && depth < 4; e = e.cause, depth++) {
    if (e.code === 'ENOSPC' || e.code === 'EDQUOT') return true;
    if (e.code === 'LEVEL_IO_ERROR' && /No space left on device|Disk quota exceeded/.test(String(e.message))) return true;
  }
  return false;
}

/** What is left of `buffers` once `written` bytes of them are written. */
function _rest(buffers: Uint8Array[], written: number): Uint8Array[] {
  if (written === 0) throw Object.assign(new Error('write made no progress'), { code: 'ENOSPC' });
  let skip = written;
  const out: Uint8Array[] = [];
  for (const b of buffers) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    out.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
}

/** Writes all of `buffers` at the handle's position, in as many writev calls as it takes. */
export async function writeAll(fh: FileHandle, buffers: Uint8Array[]): Promise<void> {
  let rest = buffers.filter((b) => b.length > 0);
  while (rest.length > 0) rest = _rest(rest, (await fh.writev(rest)).bytesWritten);
}

/** writeAll with synchronous calls, for small files whose bytes are at hand. */
export function writeAllSync(fd: number, buffers: Uint8Array[]): void {
  let rest = buffers.filter((b) => b.length > 0);
  while (rest.length > 0) rest = _rest(rest, writevSync(fd, rest));
}
