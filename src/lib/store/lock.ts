/**
 * One store operation at a time per state directory: a lock file created with
 * O_EXCL holding the owner's pid and host. A lock whose process is gone (same
 * host, pid not alive) is stale and taken over, so a `kill -9` does not block
 * the next cron run forever.
 */
import { hostname } from 'node:os';
import { open, readFile, unlink } from 'node:fs/promises';
import { CloudCoinError, ExitCode } from '../errors.js';
import { isDiskFull } from '../fsutil/write-all.js';

/** A full disk as one line; other errors as they are. */
function _failed(err: unknown, path: string): unknown {
  if (!isDiskFull(err)) return err;
  return new CloudCoinError('ENOSPC', `disk full: the store lock ${path} could not be written; free space and run the command again`, ExitCode.failure);
}

function _alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err: any) {
    return err.code === 'EPERM';
  }
}

export class StoreLock {
  readonly path: string;
  private _held = false;

  private constructor(path: string) {
    this.path = path;
  }

  /** Takes the lock or throws CloudCoinError ELOCKED (exit code conflict) naming the holder. */
  static async acquire(path: string): Promise<StoreLock> {
    const me = JSON.stringify({ pid: process.pid, host: hostname(), time: new Date().toISOString() });
    for (let attempt = 0; attempt < 2; attempt++) {
      let fh;
      try {
        fh = await open(path, 'wx', 0o600);
      } catch (err: any) {
        if (err.code !== 'EEXIST') throw _failed(err, path);
      }
      if (fh) {
        try {
          await fh.writeFile(me);
          await fh.close();
        } catch (err) {
          // An empty lock reads as held by another process: left behind, it would refuse every later run.
          await fh.close().catch(() => undefined);
          await unlink(path).catch(() => undefined);
          throw _failed(err, path);
        }
        const lock = new StoreLock(path);
        lock._held = true;
        return lock;
      }
      let holder: any = {};
      try {
        holder = JSON.parse(await readFile(path, 'utf8'));
      } catch {
        // An unreadable or half-written lock is treated as held: better a refused run than two at once.
      }
      const stale = holder.host === hostname() && Number.isInteger(holder.pid) && !_alive(holder.pid);
      if (!stale) {
        const who = holder.pid ? `pid ${holder.pid} on ${holder.host} since ${holder.time}` : 'another process';
        throw new CloudCoinError('ELOCKED', `the store is in use by ${who} (lock ${path})`, ExitCode.conflict);
      }
      await unlink(path).catch(() => undefined);
    }
    throw new CloudCoinError('ELOCKED', `could not take the lock ${path}`, ExitCode.conflict);
  }

  async release(): Promise<void> {
    if (!this._held) return;
    this._held = false;
    await unlink(this.path).catch(() => undefined);
  }
}
