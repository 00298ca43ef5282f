/**
 * Keeping restores inside the target directory. Two layers, as for hsd's
 * sanity and contextual checks: `checkRelPath` refuses names that could point
 * anywhere else ('..', absolute, empty or '.' components, NUL), before anything
 * is written; `ensureDir` walks the target tree one component at a time with
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
 * Makes sure `rel` (already checked) names a real directory inside `root`,
 * creating missing components (mode 0700 until restore sets the final mode).
 * Throws UnsafePathError if any component is a symlink or not a directory.
 */
export async function ensureDir(root: string, rel: string): Promise<void> {
  let cur = root;
  for (const part of rel.split('/')) {
    cur = join(cur, part);
    let st;
    try {
      st = await lstat(cur);
    } catch (err: any) {
      if (err.code !== 'ENOENT') throw err;
      await mkdir(cur, { mode: 0o700 });
      continue;
    }
    if (st.isSymbolicLink()) throw new UnsafePathError(`${JSON.stringify(rel)} refused: ${JSON.stringify(part)} is a symlink`);
    if (!st.isDirectory()) throw new UnsafePathError(`${JSON.stringify(rel)} refused: ${JSON.stringify(part)} is not a directory`);
  }
}

/** The parent of a checked relative path, or '' for a top-level name. */
export function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}
