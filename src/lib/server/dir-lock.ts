/**
 * One server per storage directory. Two servers on one directory would each
 * empty the other's tmp/ at start and count usage without the other's
 * uploads, so the second one refuses to start. The lock is a file holding the
 * owner's pid; a lock whose process is gone (a crash, kill -9) is taken over.
 */
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CloudCoinError, ExitCode } from '../errors.js';

function _alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Directories locked by this process. A lock file holding our own pid is
 * otherwise taken for stale (in a container the server is pid 1 after every
 * restart), so a second server in this process is caught here instead.
 */
const held = new Set<string>();

/** Takes `<dir>/lock` for this process; resolves with its release function. */
export async function lockStorageDir(dir: string): Promise<() => Promise<void>> {
  const path = resolve(dir, 'lock');
  if (held.has(path)) throw new CloudCoinError('storage-locked', `storage directory ${dir} is in use by this process`, ExitCode.conflict);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: 'wx' });
      held.add(path);
      return async () => {
        held.delete(path);
        await unlink(path).catch(() => undefined);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (Number.isSafeInteger(owner) && owner > 0 && owner !== process.pid && _alive(owner)) {
      throw new CloudCoinError('storage-locked', `storage directory ${dir} is in use by process ${owner}`, ExitCode.conflict);
    }
    await unlink(path).catch(() => undefined);
  }
  throw new CloudCoinError('storage-locked', `cannot lock storage directory ${dir}`, ExitCode.conflict);
}
