/**
 * The Store: one repository (a key, a set of backends, a local state
 * directory) and the operations `cloudcoin store` offers on it. Opening takes
 * the state directory's lock; `close()` releases it.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { CloudCoinError, ExitCode, interruptedError } from '../errors.js';
import { BackendError } from './backend.js';
import { Chunker, type ChunkerParams, gearTable } from './chunker.js';
import { checkErasure } from './erasure.js';
import { type Change, type ListEntry, type SnapshotInfo, diffTrees, keptByPolicy, listTree, snapshotInfo } from './history.js';
import { StoreKeys } from './keys.js';
import { type HiddenSnapshot, byTime, hiddenSnapshots, listBackends, manifestHolders, resolveSnapshot } from './listing.js';
import { LocalIndex } from './localindex.js';
import { StoreLock } from './lock.js';
import { type Catalog, type CheckOptions, type CheckResult, type PruneResult, check, prune } from './maintenance.js';
import { type ChunkRef, type Snapshot, type TreeEntry, decodeBody, decodeHeader } from './manifest.js';
import { type Placement, type Relocations, livePlacements, relocateSnapshot, relocated } from './placement.js';
import { PlacementBook } from './placement-book.js';
import type { ProgressFn } from './progress.js';
import { type PushOptions, type PushSummary, push, walkSource } from './push.js';
import { DEFAULT_REDUNDANCY, type Redundancy, defaultK, pushShape } from './redundancy.js';
import { type HealthOptions, HostSurvey, type RepairOptions, type RepairResult, type StatusResult, repair, sectorsOf, spread, status } from './repair.js';
import { SnapshotReader } from './reader.js';
import { type PullOptions, type PullResult, restoreToDir, selectEntries } from './restore.js';
import { SectorWorker } from './sectorworker.js';
import { ShardIO } from './shards.js';
import type { ForgetOptions, PullSummary, StoreOptions } from './store-options.js';

export type { ForgetOptions, PullSummary, StoreOptions } from './store-options.js';

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
  private readonly _policy: Redundancy;
  private readonly _placements: PlacementBook;

  private constructor(o: StoreOptions, ready: Promise<_Ready>, io: ShardIO, lock: StoreLock, worker: SectorWorker) {
    this._ready = ready;
    this._n = o.n;
    this._k = o.k;
    this._probeTimeoutMs = o.probeTimeoutMs ?? 5000;
    this._io = io;
    this._lock = lock;
    this._parallel = o.parallel ?? 6;
    this._worker = worker;
    // k alone, as before policies: n is every backend that answers.
    this._policy = o.policy ?? (o.k === undefined ? DEFAULT_REDUNDANCY : { k: o.k, n: o.backends.length });
    this._placements = new PlacementBook(io, ready);
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
    if (o.policy !== undefined) checkErasure(o.policy.k, o.policy.n);
    if (n > o.backends.length) throw new RangeError(`n = ${n} needs ${n} backends, have ${o.backends.length}`);
    if (o.probeTimeoutMs !== undefined && !(o.probeTimeoutMs > 0)) throw new RangeError('probeTimeoutMs must be positive');
    if (o.parallel !== undefined && (!Number.isInteger(o.parallel) || o.parallel < 1)) throw new RangeError('parallel must be a positive integer');
    if (!(o.keys instanceof StoreKeys) && typeof (o.keys as any)?.then !== 'function') throw new TypeError('keys must be StoreKeys (from openKey) or their promise');
    const keys = Promise.resolve(o.keys);
    let lock: StoreLock;
    try {
      await mkdir(o.stateDir, { recursive: true, mode: 0o700 });
      lock = await StoreLock.acquire(join(o.stateDir, 'lock'), o.lock);
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
   * CloudCoinError EHOSTSDOWN, having written nothing, when too few answer
   * (redundancy.ts); fewer than wanted is a warning, and the sectors are
   * queued for repair.
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
    await index.noteAnswers(up.map((b) => b.name), down.map((d) => d.backend));
    const shape = pushShape(up.length, this._io.backends.length, down, { n: this._n, k: this._k, policy: this._policy });
    let parent = options.parent;
    if (listings) {
      // From the hosts that answered only: one that did not could keep this waiting for its timeout.
      const listing = Promise.all(up.map((b) => listings.get(b)!)).then((ls) => ls.flat());
      listing.catch(() => undefined);
      const same = (await this._infos(listing)).filter((s) => s.source === resolve(source));
      parent = same.length > 0 ? same[same.length - 1].id : null;
    }
    const parentSnap = parent ? await this._placements.indexed(parent) : undefined;
    if (parentSnap) await index.adopt(parentSnap);
    const ctx = { keys, index, io: this._io, chunker, bodyChunker, hosts: up, hostsDown: down, ...shape, parallel: this._parallel, worker: this._worker, parent: parentSnap };
    return push(ctx, await walking, { ...options, parent });
  }

  /**
   * Reads every snapshot the backends list (each read once, then cached in the
   * local index), with the sectors repairs moved where they are now.
   */
  private async _catalog(listing = listBackends(this._io.backends)): Promise<Catalog> {
    const { keys, index } = await this._ready;
    const { holders, unavailable } = await manifestHolders(keys, listing);
    await _noteHolders(index, holders);
    const { moved, unreadable } = await this._placements.read(listing);
    const snapshots = new Map<string, Snapshot>();
    for (const [id, names] of holders) {
      const snap = (await index.snapshot(id)) ?? (await this._fetchSnapshot(keys, index, id, names, moved));
      if (snap) snapshots.set(id, relocateSnapshot(snap, moved));
      else unreadable.push(id);
    }
    this._hidden = await hiddenSnapshots(index, holders, [...snapshots.values()].map((s) => ({ id: s.id, time: s.header.time })));
    const placements = [...livePlacements(moved, new Set(sectorsOf(snapshots.values()).keys()))];
    return { snapshots, unreadable, unavailable, hidden: this._hidden, placements };
  }

  /** What listings show of every readable snapshot the backends list, oldest first: trees are read only for snapshots new to the local index. */
  private async _infos(listing = listBackends(this._io.backends)): Promise<SnapshotInfo[]> {
    const { keys, index } = await this._ready;
    const { holders } = await manifestHolders(keys, listing);
    await _noteHolders(index, holders);
    const { moved } = await this._placements.read(listing);
    const infos: SnapshotInfo[] = [];
    for (const [id, names] of holders) {
      const info = await index.snapshotInfo(id);
      const snap = info ? undefined : await this._fetchSnapshot(keys, index, id, names, moved);
      if (info) infos.push(info);
      else if (snap) infos.push(snapshotInfo(snap));
    }
    this._hidden = await hiddenSnapshots(index, holders, infos);
    return infos.sort(byTime);
  }

  /**
   * The header from the first backend that returns a valid one, then the body
   * it points to, read from where repairs put its sectors. The index keeps it
   * as the hosts hold it; readers apply the repairs (PlacementBook.indexed).
   */
  private async _fetchSnapshot(keys: StoreKeys, index: LocalIndex, id: string, names: string[], moved: Relocations): Promise<Snapshot | undefined> {
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
        const sectors = header.sectors.map((r) => relocated(r, moved));
        for await (const part of new SnapshotReader(keys, this._io, this._worker, sectors, header.body.chunks).content(header.body.chunks)) parts.push(Buffer.from(part));
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
    const snap = await this._placements.indexed(id);
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
    const { index } = await this._ready;
    const res = await prune(this._io, index, catalog, options);
    const live = new Set(catalog.placements);
    await this._placements.drop([...(await index.placements()).keys()].filter((id) => !live.has(id)));
    return res;
  }

  /** What the local index says each backend holds, by name: the set a host's commitment revisions sign (docs/store.md, "Sector sets"). */
  async sectorSets(): Promise<Map<string, string[]>> {
    return (await this._ready).index.heldBy();
  }

  /** Each snapshot's health: from listings and the local index, no shard data is downloaded (repair.ts). */
  async status(options: HealthOptions = {}): Promise<StatusResult> {
    const listing = listBackends(this._io.backends);
    const catalog = await this._catalog(listing);
    const { index } = await this._ready;
    const survey = await HostSurvey.take(this._io.backends, await listing, index, options);
    const health = status([...catalog.snapshots.values()], survey, this._policy, this._io.backends.length);
    return { ...health, queued: (await index.repairQueue()).length, unreadable: catalog.unreadable };
  }

  /**
   * Rebuilds every sector's lost shards onto hosts that hold none of it, up to
   * the wanted count, the sectors pushes queued first, and records where they
   * went on the hosts and in the local index (repair.ts).
   */
  async repair(options: RepairOptions = {}): Promise<RepairResult> {
    this._worker.start();
    const listing = listBackends(this._io.backends);
    const catalog = await this._catalog(listing);
    const { keys, index } = await this._ready;
    const survey = await HostSurvey.take(this._io.backends, await listing, index, options);
    const queued = new Set(await index.repairQueue());
    const sectors = [...sectorsOf(catalog.snapshots.values()).values()].sort((a, b) => Number(queued.has(b.id)) - Number(queued.has(a.id)));
    const ctx = { keys, io: this._io, index, policy: this._policy, moved: (p: Map<string, Placement>) => this._placements.add(p) };
    const res = await repair(ctx, sectors, survey, options);
    res.copied = await spread(this._io, await listing, [...catalog.snapshots.keys(), ...catalog.placements], survey, res.warnings);
    res.warnings.push(...catalog.unreadable.map((id) => `${id.slice(0, 16)}: listed but not readable from any host`));
    return res;
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

