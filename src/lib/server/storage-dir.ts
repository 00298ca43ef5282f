/**
 * The storage directory must be the server's to write. Under Passenger (and
 * cPanel) the app runs as the owner of its startup file, or as `nobody` when
 * that owner is root, so a directory made by hand as another user is the
 * usual first failure: say which user needs it, rather than a bare EACCES
 * from the lock file.
 */
import { constants } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { CloudCoinError, ExitCode } from '../errors.js';

function _whoAmI(): string {
  const uid = process.getuid?.() ?? -1;
  try {
    return `${userInfo().username} (uid ${uid})`;
  } catch {
    return `uid ${uid}`;
  }
}

/** Creates `dir` if missing; throws CloudCoinError ESTORAGEDIR (exit 1) naming the owner and this process's user when it cannot be written. */
export async function checkStorageDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK | constants.X_OK);
  } catch (err: any) {
    if (err.code !== 'EACCES' && err.code !== 'EPERM' && err.code !== 'EROFS') throw err;
    const owner = await stat(dir).then(
      (s) => `it belongs to uid ${s.uid}`,
      () => 'it cannot be created there',
    );
    throw new CloudCoinError(
      'ESTORAGEDIR',
      `storage directory ${dir} is not writable by ${_whoAmI()}: ${owner}; chown it to this user, or run the server as its owner (Passenger: PassengerUser)`,
      ExitCode.failure,
    );
  }
}
