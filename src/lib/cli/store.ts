/**
 * What every `cloudcoin store` command shares: the passphrase, the key in
 * `<datadir>/store/key`, the renter node's contracted hosts as backends, a
 * Store opened (locked) for exactly one operation and always closed, and
 * SIGINT and SIGTERM turned into an AbortSignal the operation stops at.
 */
import { type RenterPolicy, parseRenterPolicy } from '../config/renter-policy.js';
import { readFileConfig } from '../config/settings.js';
import { CloudCoinError, ExitCode, interruptedError } from '../errors.js';
import type { ShardVerifier, Store, StoreKeys } from '../store/index.js';
// Not the index: the key's derivation starts before the engine compiles (store/index.ts).
import { openKey } from '../store/keys.js';
import { storePaths } from '../store/paths.js';
import { tuneV8ForStore, type StoreWork } from './heap.js';
import { readPassphrase } from './passphrase.js';

/**
 * The engine and the node's client, loaded once the key's derivation is under
 * way: ~0.15 s of compiling (the store, the HTTP client, libsecp256k1's
 * binding, WebAssembly) that otherwise came before it, while the main thread
 * sits idle during it.
 */
const _engine = () =>
  Promise.all([
    import('../node/node-client.js'),
    import('../server/http-request.js'),
    import('../renter/index.js'),
    import('../renter/shard-proofs.js'),
    import('../store/index.js'),
  ]).then(([node, http, renter, proofs, store]) => ({ ...node, ...http, ...renter, ...proofs, ...store }));
type _Engine = Awaited<ReturnType<typeof _engine>>;

export const STORE_EXIT_STATUS = `EXIT STATUS
  0    success
  1    failure: nothing usable was done (e.g. corrupt data that no other host could replace)
  2    usage: a bad flag or argument, no key (run store init), no such snapshot
  3    the node is not running
  4    wrong passphrase (nothing was changed)
  6    partial: some of the work was done and kept (some files not restored, some hosts unreachable)
  7    locked: another store command is running on this data directory (--retry-lock waits for it), or the key exists
  130  interrupted (SIGINT, Ctrl-C): stopped at a safe point and cleaned up; what was done is kept, and running it again finishes
  143  terminated (SIGTERM): the same; a second signal stops at once, without cleaning up`;

/** The store passphrase: CLOUDCOIN_PASSPHRASE, else a prompt on a terminal. */
export async function storePassphrase(confirm = false): Promise<string> {
  const p = await readPassphrase('Store passphrase: ', { confirm });
  if (!p) throw new CloudCoinError('ENOPASSPHRASE', 'no passphrase: set CLOUDCOIN_PASSPHRASE or run on a terminal', ExitCode.usage);
  return p;
}

export interface StoreSession {
  store: Store;
  hosts: { hostKey: string; url: string; contractId: string }[];
  /** Active contracts without a known file server URL. */
  unreachable: string[];
  /** The renter policy of config.json (k, n, repairAfter, ...). */
  policy: RenterPolicy;
  /** Host keys of contracted hosts that missed a proof window of their current contract: their shards count as lost. */
  badHosts(): Promise<string[]>;
  /**
   * Aborted by the first SIGINT or SIGTERM, its reason the CloudCoinError
   * EINTERRUPTED the command ends with (exit 130 or 143). An operation given it
   * stops at its next safe point and throws interruptedError saying what it kept.
   */
  signal: AbortSignal;
  /** One a host, proving sampled segments against its contract's commitment: for `store check` (docs/store.md, "Checking"). */
  verifiers(): Map<string, ShardVerifier>;
}

/** Which store a command opens, and how long it waits for the lock another run holds (`--retry-lock`). */
export interface StoreWhere {
  datadir: string;
  retryLockMs?: number;
}

/** On a terminal only, like progress: cron's mail gets the error if the wait runs out, not a line for every wait. */
function _sayWaiting(waitMs: number): (holder: string) => void {
  return (holder) => {
    if (process.stderr.isTTY) process.stderr.write(`waiting up to ${Math.round(waitMs / 1000)} s for the store lock held by ${holder}\n`);
  };
}

/**
 * Opens the store of `where.datadir` on its node's contracted hosts, runs `fn`, and
 * closes it. `shards` must fit the contracted hosts (a usage error otherwise);
 * whether enough of them answer is the push's to find out. `work` tunes V8
 * for what `fn` does (heap.ts).
 *
 * From the passphrase on, SIGINT and SIGTERM abort the session's signal
 * rather than kill the process: the operation stops at its next safe point,
 * the store closes (its lock released) and the command exits 130 or 143.
 * An operation that ends before it looks at the signal returns as usual.
 */
export async function withStore<T>(where: StoreWhere, fn: (s: StoreSession) => Promise<T>, shards: { n?: number; k?: number } = {}, work: StoreWork = 'read'): Promise<T> {
  const { datadir } = where;
  tuneV8ForStore(work);
  const policy = parseRenterPolicy(readFileConfig(datadir).renter);
  const passphrase = await storePassphrase();
  const signals = storeSignals();
  // The KDF runs off the event loop meanwhile (Argon2id ~75 ms, an older key's
  // scrypt ~0.3-0.7 s): the node is asked for the contracts, the store opens,
  // and a push probes its hosts and walks its source.
  const keys = openKey(storePaths(datadir).key, passphrase);
  keys.catch(() => undefined);
  try {
    return await _withKeys(await _engine(), where, keys, fn, { ...shards, policy }, signals.signal);
  } catch (err) {
    // A missing key or a wrong passphrase is the error to report, whatever else failed meanwhile.
    await keys;
    throw err;
  } finally {
    signals.off();
  }
}

/**
 * Until `off()`: the first SIGINT or SIGTERM aborts `signal`, with the error
 * the command is to end with (exit 128 + the signal's number, as a shell
 * reports a process killed by it); a second one, while the operation stops
 * and cleans up, exits at once.
 */
export function storeSignals(): { signal: AbortSignal; off(): void } {
  const controller = new AbortController();
  const on = (name: 'SIGINT' | 'SIGTERM') => {
    const exitCode = name === 'SIGINT' ? ExitCode.interrupted : ExitCode.terminated;
    if (!controller.signal.aborted) return controller.abort(new CloudCoinError('EINTERRUPTED', `interrupted (${name})`, exitCode));
    process.stderr.write(`interrupted (${name}) again: stopped at once, without cleaning up\n`);
    process.exit(exitCode);
  };
  const onInt = () => on('SIGINT');
  const onTerm = () => on('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    signal: controller.signal,
    off() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}

async function _withKeys<T>(
  { NodeClient, Store, abortHttpRequests, contractedHosts, hostBackends, hostShardVerifiers, listContracts, postSectorSets, rememberHosts, renterKey }: _Engine,
  { datadir, retryLockMs }: StoreWhere,
  keys: Promise<StoreKeys>,
  fn: (s: StoreSession) => Promise<T>,
  { policy, ...shards }: { n?: number; k?: number; policy: RenterPolicy },
  signal: AbortSignal,
): Promise<T> {
  const renter = await renterKey(datadir, keys);
  const node = NodeClient.connect(datadir);
  const { hosts, unreachable } = await contractedHosts(node, datadir, renter.publicKey);
  if (hosts.length === 0) {
    throw new CloudCoinError('ENOHOSTS', `no active contract with a reachable host for renter key ${renter.publicKey.slice(0, 16)}…: accept offers first (cloudcoin contract offers, contract accept)`, ExitCode.failure);
  }
  for (const [flag, value] of [['--total-shards', shards.n], ['--min-shards', shards.k]] as const) {
    if (value !== undefined && value > hosts.length) {
      throw new CloudCoinError('EUSAGE', `${flag} ${value} needs ${value} hosts, and this renter has contracts with ${hosts.length} reachable ones`, ExitCode.usage);
    }
  }
  const lock = { waitMs: retryLockMs ?? 0, signal, onWait: _sayWaiting(retryLockMs ?? 0) };
  const store = await Store.open({ keys, backends: await hostBackends(hosts, renter.secretKey), stateDir: storePaths(datadir).dir, ...shards, policy: { k: policy.k, n: policy.n }, lock });
  const current = new Map(hosts.map((h) => [h.contractId, h.hostKey]));
  // The engine knows backends only: the node says which hosts failed proofs.
  const badHosts = async () =>
    (await listContracts(node, 'renter')).contracts.filter((c) => current.has(c.id) && (c.fulfilment?.missed ?? 0) > 0).map((c) => current.get(c.id)!);
  // Once the passphrase is known to be right: a wrong one changes nothing.
  const remembered = keys.then(() => rememberHosts(datadir, hosts));
  remembered.catch(() => undefined);
  try {
    if (signal.aborted) throw interruptedError(signal, 'nothing was done');
    const result = await fn({ store, hosts, unreachable, signal, policy, badHosts, verifiers: () => hostShardVerifiers(node, hosts, renter) });
    // After every command, not only those that store or delete: a listing also teaches the
    // index which hosts hold which snapshot headers (a store used from a new machine).
    await postSectorSets(node, hosts, await store.sectorSets());
    try {
      await remembered;
    } catch (err) {
      // The book only keeps URLs for when the hosts' offers are gone: the operation itself
      // succeeded (a push's snapshot is stored), and its exit code says so.
      process.stderr.write(`warning: ${storePaths(datadir).hosts} not updated: ${(err as Error).message}\n`);
    }
    return result;
  } finally {
    await remembered.catch(() => undefined);
    await store.close();
    // A probe or download still waiting on a silent host must not hold the command open.
    abortHttpRequests();
  }
}
