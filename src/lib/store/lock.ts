/**
 * One store operation at a time per state directory: a lock file created with
 * O_EXCL holding the owner's pid and host. A lock whose process is gone (same
 * host, pid not alive) is stale and taken over, so a `kill -9` does not block
 * the next cron run forever. A run may wait for a held lock (restic's
 * --retry-lock): the renter's daemon repairs in the background, and a cron
 * backup that starts meanwhile should wait for it rather than fail.
 */
import { hostname } from 'node:os';
import { open, readFile, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { CloudCoinError, ExitCode, interruptedError } from '../errors.js';
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

export interface LockWait {
  /** How long to wait for a lock another run holds (default 0: refuse at once). */
  waitMs?: number;
  /** Stops the wait with interruptedError. */
  signal?: AbortSignal;
  /** Called once, when the lock is found held and the wait begins, with who holds it. */
  onWait?: (holder: string) => void;
}

/** Polls a held lock at this interval at first, doubling up to _POLL_MAX_MS. */
const _POLL_FIRST_MS = 100;
const _POLL_MAX_MS = 2_000;

export class StoreLock {
  readonly path: string;
  private _held = false;

  private constructor(path: string) {
    this.path = path;
  }

  /**
   * Takes the lock, waiting up to `wait.waitMs` while another live run holds
   * it; then throws CloudCoinError ELOCKED (exit code conflict) naming the holder.
   */
  static async acquire(path: string, wait: LockWait = {}): Promise<StoreLock> {
    const waitMs = wait.waitMs ?? 0;
    if (!(waitMs >= 0)) throw new RangeError('waitMs must be a non-negative number');
    const deadline = Date.now() + waitMs;
    let pollMs = _POLL_FIRST_MS;
    let told = false;
    for (;;) {
      const taken = await StoreLock._try(path);
      if (taken instanceof StoreLock) return taken;
      const left = deadline - Date.now();
      if (left <= 0) {
        const waited = waitMs > 0 ? `; waited ${Math.round(waitMs / 1000)} s` : '; wait for it with --retry-lock';
        throw new CloudCoinError('ELOCKED', `the store is in use by ${taken} (lock ${path})${waited}`, ExitCode.conflict);
      }
      if (!told) wait.onWait?.(taken);
      told = true;
      // An aborted signal ends the sleep at once, and the check after it says so.
      await sleep(Math.min(pollMs, left), undefined, { signal: wait.signal }).catch(() => undefined);
      if (wait.signal?.aborted) throw interruptedError(wait.signal, `the store lock was still held by ${taken}; nothing was done`);
      pollMs = Math.min(pollMs * 2, _POLL_MAX_MS);
    }
  }

  /** The lock, or who holds it. */
  private static async _try(path: string): Promise<StoreLock | string> {
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
      if (!stale) return holder.pid ? `pid ${holder.pid} on ${holder.host} since ${holder.time}` : 'another process';
      await unlink(path).catch(() => undefined);
    }
    return 'another process';
  }

  async release(): Promise<void> {
    if (!this._held) return;
    this._held = false;
    await unlink(this.path).catch(() => undefined);
  }
}
