/**
 * One store operation at a time per state directory: a lock file created with
 * O_EXCL holding the owner's pid and host. A lock whose process is gone (same
 * host, pid not alive) is stale and taken over, so a `kill -9` does not block
 * the next cron run forever.
 */
import { hostname } from 'node:os';
import { open, readFile, unlink } from 'node:fs/promises';
import { CloudCoinError, ExitCode } from '../errors.js';

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
      try {
        const fh = await open(path, 'wx', 0o600);
        await fh.writeFile(me);
        await fh.close();
        const lock = new StoreLock(path);
        lock._held = true;
        return lock;
      } catch (err: any) {
        if (err.code !== 'EEXIST') throw err;
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
