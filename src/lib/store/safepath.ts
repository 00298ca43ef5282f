/**
 * Keeping restores inside the target directory. Two layers, as for hsd's
 * sanity and contextual checks: `checkRelPath` refuses names that could point
 * anywhere else ('..', absolute, empty or '.' components, NUL), before anything
 * is written; `DirGuard` walks the target tree one component at a time with
 * lstat, so no write ever goes through a symlink or a non-directory, whatever
 * earlier entries (or files already in the target) created.
 */
import { lstat, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CloudCoinError, ExitCode } from '../errors.js';

export class UnsafePathError extends CloudCoinError {
  constructor(message: string) {
    super('EUNSAFE', message, ExitCode.failure);
  }
}

/** Throws UnsafePathError unless `p` is a plain relative path of normal components. */
export function checkRelPath(p: unknown, what = 'path'): asserts p is string {
  const bad = (why: string) => new UnsafePathError(`${what} ${JSON.stringify(p)} refused: ${why}`);
  if (typeof p !== 'string' || p.length === 0) throw bad('empty');
  if (p.length > 4096) throw bad('too long');
  if (p.includes('\0')) throw bad('contains NUL');
  if (p.startsWith('/')) throw bad('absolute');
  for (const part of p.split('/')) {
    if (part === '' || part === '.') throw bad('empty or "." component');
    if (part === '..') throw bad('".." component');
  }
}

/**
 * Makes sure checked relative directories exist as real directories inside
 * `root`, creating missing ones (mode 0700 until restore sets the final mode),
 * and refusing with UnsafePathError any component that is a symlink or not a
 * directory. Verified directories are remembered: restore creates no symlink
 * until every file is written, and never removes a directory, so a verified
 * directory stays one.
 */
export class DirGuard {
  readonly root: string;
  private readonly _known = new Map<string, Promise<void>>();

  constructor(root: string) {
    this.root = root;
  }

  /** Resolves once `rel` ('' is the root) is a verified directory. */
  ensure(rel: string): Promise<void> {
    if (rel === '') return Promise.resolve();
    let p = this._known.get(rel);
    if (!p) {
      p = this._check(rel);
      this._known.set(rel, p);
      // A refusal is not cached as success, but keeps failing for later entries as it should.
    }
    return p;
  }

  private async _check(rel: string): Promise<void> {
    await this.ensure(parentOf(rel));
    const abs = join(this.root, rel);
    const name = rel.slice(rel.lastIndexOf('/') + 1);
    for (;;) {
      try {
        const st = await lstat(abs);
        if (st.isSymbolicLink()) throw new UnsafePathError(`${JSON.stringify(rel)} refused: ${JSON.stringify(name)} is a symlink`);
        if (!st.isDirectory()) throw new UnsafePathError(`${JSON.stringify(rel)} refused: ${JSON.stringify(name)} is not a directory`);
        return;
      } catch (err: any) {
        if (err.code !== 'ENOENT') throw err;
      }
      try {
        await mkdir(abs, { mode: 0o700 });
        return;
      } catch (err: any) {
        // Someone else created it between lstat and mkdir: look again at what it is.
        if (err.code !== 'EEXIST') throw err;
      }
    }
  }
}

/** The parent of a checked relative path, or '' for a top-level name. */
export function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}
