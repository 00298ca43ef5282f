/** Where a store's state lives under a data directory: apart from the engine so a command can name its key file without loading it. */
import { join } from 'node:path';

export interface StorePaths {
  /** State directory: index, lock, and the files below. */
  dir: string;
  /** The master key file, encrypted under the passphrase. */
  key: string;
  /** An imported renter key, sealed under the master key. */
  renter: string;
  /** Host URLs learnt from offers, by contract. */
  hosts: string;
}

export function storePaths(datadir: string): StorePaths {
  const dir = join(datadir, 'store');
  return { dir, key: join(dir, 'key'), renter: join(dir, 'renter.key'), hosts: join(dir, 'hosts.json') };
}
