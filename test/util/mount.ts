/**
 * A small tmpfs for the full-disk tests: mounting needs root (or CAP_SYS_ADMIN),
 * so each such test asks `tmpfsUnavailable()` first and is skipped, saying
 * why, where it cannot mount.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Mounts a tmpfs of `size` (e.g. '1m') on `dir`; null, or why it could not. */
export function mountTmpfs(dir: string, size: string): string | null {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return null;
  } catch (err) {
    return (err as Error).message.split('\n')[0];
  }
}

/** Unmounts `dir`; lazily if something still holds a file there (a failing test), so no mount outlives the run. */
export function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
  }
}

/**
 * Null where a tmpfs can be mounted here, else why not. Synchronous: ava wants
 * tests declared synchronously, and whether one is skipped is decided then.
 */
export function tmpfsUnavailable(): string | null {
  const probe = mkdtempSync(join(tmpdir(), 'cc-mount-probe-'));
  const error = mountTmpfs(probe, '1m');
  if (error === null) unmount(probe);
  rmSync(probe, { recursive: true, force: true });
  return error;
}
