/**
 * The Store: one repository (a key, a set of backends, a local state
 * directory) and the operations `cloudcoin store` offers on it. Opening takes
 * the state directory's lock; `close()` releases it.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { CloudCoinError, ExitCode, interruptedError } from '../errors.js';
import { type Backend, BackendError } from './backend.js';
import { Chunker, type ChunkerParams, gearTable } from './chunker.js';
import { checkErasure } from './erasure.js';
import { type Change, type ForgetPolicy, type ListEntry, type SnapshotInfo, diffTrees, keptByPolicy, listTree, snapshotInfo } from './history.js';
import { StoreKeys } from './keys.js';
import { type HiddenSnapshot, byTime, hiddenSnapshots, listBackends, manifestHolders, resolveSnapshot } from './listing.js';
import { LocalIndex } from './localindex.js';
import { StoreLock } from './lock.js';
import { type Catalog, type CheckOptions, type CheckResult, type PruneResult, check, prune } from './maintenance.js';
import { type ChunkRef, type Snapshot, type TreeEntry, decodeBody, decodeHeader } from './manifest.js';
import type { ProgressFn } from './progress.js';
import { type PushOptions, type PushSummary, push, walkSource } from './push.js';
import { SnapshotReader } from './reader.js';
import { type PullOptions, type PullResult, restoreToDir, selectEntries } from './restore.js';
import { SectorWorker } from './sectorworker.js';
import { type CorruptReport, type HostDown, ShardIO } from './shards.js';

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
   * before a push (default: all that answer, and at least MIN_HOSTS must).
   */
  n?: number;
  /** Shards needed to rebuild (default: about n / 1.5, so ~1.5x overhead). */
  k?: number;
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
}

/**
 * File chunks: min 64 KiB, average ~128 KiB, max 512 KiB (fixed: other sizes would
 * cut the same data differently and defeat dedup). Smaller than restic's
 * 512 KiB / 1 MiB / 8 MiB because every stored byte is uploaded ~1.5x (erasure
 * coding): the chunk a 1-byte change lands in then costs at most 0.75 MiB of
 * uploads. With a 1 MiB maximum a change in a large chunk went over 1 MiB.
 */
export const DEFAULT_CHUNKER: ChunkerParams = { minSize: 64 * 1024, avgBits: 17, maxSize: 512 * 1024 };
/** Body chunks: min 16 KiB, average ~64 KiB, max 256 KiB, so a changed tree entry costs little. */
export const BODY_CHUNKER: ChunkerParams = { minSize: 16 * 1024, avgBits: 16, maxSize: 256 * 1024 };

/** k for n shards at about 1.5x storage overhead. */
export function defaultK(n: number): number {
  return Math.max(1, Math.round(n / 1.5));
}

/**
 * Backends that must answer before a push when n is not set: fewer gives
 * little redundancy (2 hosts: 1-of-2), so it takes an explicit n.
 */
const MIN_HOSTS = 3;

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

function* _chunksOf(entries: TreeEntry[]): Iterable<ChunkRef> {
  for (const e of entries) if (e.chunks) yield* e.chunks;
}

/** What needs the keys, made once they are known. */
interface _Ready {
  keys: StoreKeys;
  chunker: Chunker;
  bodyChunker: Chunker;
  /** Opened (created, the first time) only under keys known to be right. */
  index: LocalIndex;
}

function _whenKeyed(keys: StoreKeys | Promise<StoreKeys>, indexDir: string): Promise<_Ready> {
  const ready = Promise.resolve(keys).then(async (k) => {
    if (!(k instanceof StoreKeys)) throw new TypeError('keys must be StoreKeys (from openKey)');
    const gear = gearTable(k.gear);
    return { keys: k, chunker: new Chunker(gear, DEFAULT_CHUNKER), bodyChunker: new Chunker(gear, BODY_CHUNKER), index: await LocalIndex.open(indexDir) };
  });
  // Awaited by every operation; a store closed unused must not leave a wrong passphrase unhandled.
  ready.catch(() => undefined);
  return ready;
}

export class Store {
  /** As set in the options; unset ones follow from the backends that answer at each push. */
  private readonly _n: number | undefined;
  private readonly _k: number | undefined;
  private readonly _probeTimeoutMs: number;
  private readonly _io: ShardIO;
  private readonly _lock: StoreLock;
  private readonly _ready: Promise<_Ready>;
  private readonly _parallel: number;
  private readonly _worker: SectorWorker;
  private _hidden: HiddenSnapshot[] = [];

  private constructor(o: StoreOptions, ready: Promise<_Ready>, io: ShardIO, lock: StoreLock, worker: SectorWorker) {
    this._ready = ready;
    this._n = o.n;
    this._k = o.k;
    this._probeTimeoutMs = o.probeTimeoutMs ?? 5000;
    this._io = io;
    this._lock = lock;
    this._parallel = o.parallel ?? 6;
    this._worker = worker;
  }

  /**
   * Opens the repository; throws CloudCoinError ELOCKED if another run holds
   * it (or the keys' error, if they fail: that comes first).
   */
  static async open(o: StoreOptions): Promise<Store> {
    if (!o || typeof o !== 'object') throw new TypeError('options are required');
    if (!Array.isArray(o.backends) || o.backends.length === 0) throw new TypeError('at least one backend is needed');
    if (typeof o.stateDir !== 'string' || o.stateDir.length === 0) throw new TypeError('stateDir must be a path');
    // Without n, k is checked against the backends that answer, at each push.
    const n = o.n ?? o.backends.length;
    checkErasure(o.k ?? defaultK(n), n);
    if (n > o.backends.length) throw new RangeError(`n = ${n} needs ${n} backends, have ${o.backends.length}`);
    if (o.probeTimeoutMs !== undefined && !(o.probeTimeoutMs > 0)) throw new RangeError('probeTimeoutMs must be positive');
    if (o.parallel !== undefined && (!Number.isInteger(o.parallel) || o.parallel < 1)) throw new RangeError('parallel must be a positive integer');
    if (!(o.keys instanceof StoreKeys) && typeof (o.keys as any)?.then !== 'function') throw new TypeError('keys must be StoreKeys (from openKey) or their promise');
    const keys = Promise.resolve(o.keys);
    let lock: StoreLock;
    try {
      await mkdir(o.stateDir, { recursive: true, mode: 0o700 });
      lock = await StoreLock.acquire(join(o.stateDir, 'lock'));
    } catch (err) {
      // A wrong passphrase is the error to report, whatever else failed meanwhile.
      await keys;
      throw err;
    }
    const ready = _whenKeyed(keys, join(o.stateDir, 'index'));
    const worker = new SectorWorker(ready.then((r) => r.keys));
    const io = new ShardIO(o.backends, { retries: o.retries, retryDelayMs: o.retryDelayMs, hash: (data) => worker.sha256(data) });
    return new Store(o, ready, io, lock, worker);
  }

  async close(): Promise<void> {
    await this._worker.close();
    await (await this._ready.catch(() => null))?.index.close();
    await this._lock.release();
  }

  /**
   * Pushes `source` as a new snapshot onto the backends that answer a probe
   * first; its parent defaults to the latest snapshot of the same source,
   * whose chunks the local index learns first if it lacks them. Throws
   * CloudCoinError EHOSTSDOWN, having written nothing, when too few answer.
   */
  async push(source: string, options: PushOptions = {}): Promise<PushSummary> {
    if (typeof source !== 'string' || source.length === 0) throw new TypeError('source must be a directory path');
    this._worker.start();
    // While the keys may still be being derived: all three only read.
    const probing = this._io.probe(this._probeTimeoutMs);
    probing.catch(() => undefined);
    // Each host's listing, for the parent snapshot, is asked for with the probe rather than a round trip after it.
    const listings = options.parent === undefined ? new Map(this._io.backends.map((b) => [b, listBackends([b])])) : null;
    const walking = walkSource(source);
    walking.catch(() => undefined);
    const { keys, chunker, bodyChunker, index } = await this._ready;
    const { up, down } = await probing;
    if (up.length < (this._n ?? Math.max(MIN_HOSTS, this._k ?? 1))) {
      throw new CloudCoinError('EHOSTSDOWN', _tooFew(up.length, this._io.backends.length, down, this._n, this._k), ExitCode.failure);
    }
    const n = this._n ?? up.length;
    const k = this._k ?? defaultK(n);
    let parent = options.parent;
    if (listings) {
      // From the hosts that answered only: one that did not could keep this waiting for its timeout.
      const listing = Promise.all(up.map((b) => listings.get(b)!)).then((ls) => ls.flat());
      listing.catch(() => undefined);
      const same = (await this._infos(listing)).filter((s) => s.source === resolve(source));
      parent = same.length > 0 ? same[same.length - 1].id : null;
    }
    const parentSnap = parent ? await index.snapshot(parent) : undefined;
    if (parentSnap) await index.adopt(parentSnap);
    const ctx = { keys, index, io: this._io, chunker, bodyChunker, hosts: up, hostsDown: down, k, n, parallel: this._parallel, worker: this._worker, parent: parentSnap };
    return push(ctx, await walking, { ...options, parent });
  }

  /** Reads every snapshot the backends list (each read once, then cached in the local index). */
  private async _catalog(backends = this._io.backends): Promise<Catalog> {
    const listing = listBackends(backends);
    const { keys, index } = await this._ready;
    const { holders, unavailable } = await manifestHolders(keys, listing);
    await _noteHolders(index, holders);
    const snapshots = new Map<string, Snapshot>();
    const unreadable: string[] = [];
    for (const [id, names] of holders) {
      const snap = (await index.snapshot(id)) ?? (await this._fetchSnapshot(keys, index, id, names));
      if (snap) snapshots.set(id, snap);
      else unreadable.push(id);
    }
    this._hidden = await hiddenSnapshots(index, holders, [...snapshots.values()].map((s) => ({ id: s.id, time: s.header.time })));
    return { snapshots, unreadable, unavailable, hidden: this._hidden };
  }

  /** What listings show of every readable snapshot the backends list, oldest first: trees are read only for snapshots new to the local index. */
  private async _infos(listing = listBackends(this._io.backends)): Promise<SnapshotInfo[]> {
    const { keys, index } = await this._ready;
    const { holders } = await manifestHolders(keys, listing);
    await _noteHolders(index, holders);
    const infos: SnapshotInfo[] = [];
    for (const [id, names] of holders) {
      const info = await index.snapshotInfo(id);
      const snap = info ? undefined : await this._fetchSnapshot(keys, index, id, names);
      if (info) infos.push(info);
      else if (snap) infos.push(snapshotInfo(snap));
    }
    this._hidden = await hiddenSnapshots(index, holders, infos);
    return infos.sort(byTime);
  }

  /** The header from the first backend that returns a valid one, then the body it points to. */
  private async _fetchSnapshot(keys: StoreKeys, index: LocalIndex, id: string, names: string[]): Promise<Snapshot | undefined> {
    for (const name of names) {
      let header;
      try {
        header = decodeHeader(keys, id, await this._io.backend(name)!.get(id));
      } catch (err) {
        if (err instanceof BackendError) continue;
        if (!(err instanceof CloudCoinError)) throw err;
        this._io.corrupt.push({ backend: name, shard: id });
        continue;
      }
      const parts: Buffer[] = [];
      try {
        for await (const part of new SnapshotReader(keys, this._io, this._worker, header.sectors, header.body.chunks).content(header.body.chunks)) parts.push(Buffer.from(part));
      } catch (err) {
        if (err instanceof CloudCoinError) return undefined;
        throw err;
      }
      const snap: Snapshot = { id, header, ...decodeBody(id, Buffer.concat(parts)) };
      await index.putSnapshot(snap);
      return snap;
    }
    return undefined;
  }

  /** All readable snapshots, oldest first. */
  async snapshots(): Promise<SnapshotInfo[]> {
    return this._infos();
  }

  /** Snapshots seen before that the latest listing found on no host, oldest first (docs/store.md, "Snapshots no host lists"). */
  hiddenSnapshots(): HiddenSnapshot[] {
    return this._hidden;
  }

  /** The full id for 'latest' or a unique id prefix (at least 4 hex characters); 'latest' refused (EHIDDEN) while a newer snapshot is hidden. */
  async resolve(ref: string): Promise<string> {
    return resolveSnapshot(ref, async () => ({ snaps: await this.snapshots(), hidden: this._hidden }));
  }

  /** A snapshot (id, prefix or 'latest') with its tree. */
  async snapshot(ref: string): Promise<Snapshot> {
    const id = await this.resolve(ref);
    const snap = await (await this._ready).index.snapshot(id);
    if (!snap) throw new CloudCoinError('ENOSNAPSHOT', `snapshot ${id} is not readable`, ExitCode.failure);
    return snap;
  }

  /** Restores a snapshot into `target`, never writing outside it. */
  async pull(ref: string, target: string, options: PullOptions = {}): Promise<PullSummary> {
    if (typeof target !== 'string' || target.length === 0) throw new TypeError('target must be a directory path');
    return this._pull(ref, options, (r, e, p) => restoreToDir(r, e, target, { progress: p, direct: options.direct, signal: options.signal }));
  }

  /** Writes a snapshot as a tar stream to `out` (for `--stdout`). */
  async pullTar(ref: string, out: Writable, options: PullOptions = {}): Promise<PullSummary> {
    // Loaded here: tar-stream and its dependencies added ~5 ms to every other store command's start-up.
    const { restoreToTar } = await import('./restore-tar.js');
    return this._pull(ref, options, (r, e, p) => restoreToTar(r, e, out, p, options.signal));
  }

  private async _pull(
    ref: string,
    options: PullOptions,
    write: (r: SnapshotReader, e: ReturnType<typeof selectEntries>, p?: ProgressFn) => Promise<PullResult>,
  ): Promise<PullSummary> {
    this._worker.start();
    const snap = await this.snapshot(ref);
    const { keys } = await this._ready;
    const entries = selectEntries(snap.tree, options.include);
    const seen = this._io.corrupt.length;
    const reader = new SnapshotReader(keys, this._io, this._worker, snap.sectors, _chunksOf(entries), { signal: options.signal });
    const result = await write(reader, entries, options.progress);
    return { snapshot: snap.id, ...result, corrupt: this._io.corrupt.slice(seen) };
  }

  async ls(ref: string, path?: string): Promise<ListEntry[]> {
    return listTree(await this.snapshot(ref), path);
  }

  async diff(a: string, b: string): Promise<Change[]> {
    return diffTrees(await this.snapshot(a), await this.snapshot(b));
  }

  /**
   * Forgets the named snapshots and, if a keep rule is given, every snapshot it
   * does not keep; deletes their headers from all backends. Data goes with `prune()`.
   */
  async forget(options: ForgetOptions): Promise<{ removed: string[]; kept: string[]; warnings: string[] }> {
    const snaps = await this.snapshots();
    // A hidden snapshot may be named too: forgetting it is how the user says it is gone for good.
    const hidden = this._hidden;
    const named = new Set(await Promise.all((options.snapshots ?? []).map((r) => resolveSnapshot(r, async () => ({ snaps: r === 'latest' ? snaps : [...snaps, ...hidden].sort(byTime), hidden })))));
    const hasPolicy = options.keepLast !== undefined || options.keepDaily !== undefined;
    const kept = keptByPolicy(snaps, options);
    const removed = [...snaps.filter((s) => named.has(s.id) || (hasPolicy && !kept.has(s.id))), ...hidden.filter((h) => named.has(h.id))].map((s) => s.id);
    // A host that is down keeps its copy of the header, and the snapshot comes back
    // when it does: the warnings say so, and forgetting again then finishes the job.
    const warnings: string[] = [];
    for (const [done, id] of removed.entries()) {
      if (options.signal?.aborted) throw interruptedError(options.signal, `${done} of ${removed.length} snapshots forgotten; forget again to finish`);
      const results = await Promise.allSettled(this._io.backends.map((b) => b.delete(id)));
      results.forEach((r, i) => {
        if (r.status === 'rejected') warnings.push(`${this._io.backends[i].name}: snapshot ${id.slice(0, 8)} not deleted: ${r.reason?.message ?? r.reason}`);
      });
      const { index } = await this._ready;
      await index.delSnapshot(id);
      await index.putHolders(id, this._io.backends.filter((_, i) => results[i].status === 'rejected').map((b) => b.name));
    }
    return { removed, kept: snaps.map((s) => s.id).filter((id) => !removed.includes(id)), warnings };
  }

  /**
   * Deletes every shard no snapshot needs. Refuses while a backend or manifest
   * cannot be read, or a snapshot seen before is listed by no host, unless
   * `forgetHidden` lets go of those. `signal` stops the deletions; the local
   * index still forgets the sectors no snapshot needs (interruptedError).
   */
  async prune(options: { signal?: AbortSignal; forgetHidden?: boolean } = {}): Promise<PruneResult> {
    const catalog = await this._catalog();
    return prune(this._io, (await this._ready).index, catalog, options);
  }

  /** What the local index says each backend holds, by name: the set a host's commitment revisions sign (docs/store.md, "Sector sets"). */
  async sectorSets(): Promise<Map<string, string[]>> {
    return (await this._ready).index.heldBy();
  }

  /** Every shard of every snapshot present (sampled by proofs where verifiers are given); with readData, downloaded, verified and decrypted. `signal` stops it (interruptedError). */
  async check(options: CheckOptions = {}): Promise<CheckResult> {
    const catalog = await this._catalog();
    return check((await this._ready).keys, this._io, catalog, options);
  }
}

/** Who a listing showed holding each snapshot header; one that did not answer keeps what the index says of it. */
async function _noteHolders(index: LocalIndex, holders: Map<string, string[]>): Promise<void> {
  for (const [id, names] of holders) await index.addHolders(id, names);
}

/** Why a push cannot start: which hosts did not answer, and what would let it. */
function _tooFew(up: number, all: number, down: HostDown[], n: number | undefined, k: number | undefined): string {
  const names = down.map((d) => d.backend).join(', ');
  const who = down.length === 0 ? `there are only ${all} hosts` : up === 0 ? `no host answered (down: ${names})` : `only ${up} of ${all} hosts answered (down: ${names})`;
  if (n !== undefined) return `${who}; n = ${n} shards (--total-shards) need ${n}`;
  if (k !== undefined && k > MIN_HOSTS) return `${who}; k = ${k} (--min-shards) needs at least ${k}`;
  const hint = up === 0 ? '' : `: --total-shards ${up} stores on ${up === 1 ? 'that one' : `those ${up}`}`;
  return `${who}; at least ${MIN_HOSTS} are needed by default${hint}`;
}
