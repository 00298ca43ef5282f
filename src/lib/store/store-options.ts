/**
 * What Store.open takes, and the shapes of what some of its operations take
 * and return.
 */
import type { Backend } from './backend.js';
import type { ForgetPolicy } from './history.js';
import type { StoreKeys } from './keys.js';
import type { LockWait } from './lock.js';
import type { Redundancy } from './redundancy.js';
import type { PullResult } from './restore.js';
import type { CorruptReport } from './shards.js';

export interface StoreOptions {
  /**
   * From openKey. Its promise will do: the store then opens, and a push probes
   * the hosts and walks the source, while the KDF derives the key (Argon2id
   * ~75 ms on threads of its own; an older key's scrypt ~0.3-0.7 s of one core), and each operation waits for it
   * where it first needs it. If it rejects (a wrong passphrase), so does every
   * operation, with that error, having written nothing.
   */
  keys: StoreKeys | Promise<StoreKeys>;
  /** One per host; shard i of a sector goes to a different backend than shard j. */
  backends: Backend[];
  /** Local state: the index (LevelDB) and the lock file. Created if missing. */
  stateDir: string;
  /**
   * Shards per sector, each on a different backend among those that answer
   * before a push, all of which must answer (default: as `policy` says).
   */
  n?: number;
  /** Shards needed to rebuild (default: the policy's k; with n set, about n / 1.5, so ~1.5x overhead). */
  k?: number;
  /**
   * The renter policy's k-of-n (default 2-of-4; with k alone, k-of-backends):
   * without n, a push stores
   * min(n, backends) shards a sector (at least k + 1 where there are that
   * many backends) on those that answer, fewer when fewer answer, down to k;
   * status and repair measure and restore every sector against it.
   */
  policy?: Redundancy;
  /** How long a push waits for each backend to answer its probe (default 5000 ms). */
  probeTimeoutMs?: number;
  /**
   * Sectors sealing or uploading at once during push (default 6), each ~10 MiB
   * (its plaintext and n shards). A file server answers a PUT only once the
   * shard is fsynced: with 4, the sector worker and the main thread were both
   * 35-45% idle in a 250 MB push's steady state, waiting on those answers.
   */
  parallel?: number;
  /** Upload attempts for unavailable backends (default 3) and the first delay (default 200 ms). */
  retries?: number;
  retryDelayMs?: number;
  /** Waiting for the lock another run holds (default: none, ELOCKED at once). */
  lock?: LockWait;
}

export interface PullSummary extends PullResult {
  snapshot: string;
  /** Backends that returned wrong bytes; their shards were replaced by others. */
  corrupt: CorruptReport[];
}

export interface ForgetOptions extends ForgetPolicy {
  /** Snapshots to forget by id, prefix or 'latest' (in addition to the policy). */
  snapshots?: string[];
  /** Stops before the next snapshot: those forgotten stay forgotten (interruptedError). */
  signal?: AbortSignal;
}
