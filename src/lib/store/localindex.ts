/**
 * The local index: a LevelDB in the store's state directory that lets push skip
 * chunks already stored and resume after an interruption. It is a cache: all it
 * holds can be rebuilt from the manifests on the hosts.
 *
 * Layout (utf8 keys, JSON values):
 *
 *   c:<chunk id>   -> [sector id, offset, length]   chunk lives in a fully stored sector
 *   s:<sector id>  -> SectorRecord                 every shard of the sector acknowledged
 *   a:<shard id>   -> backend name                 this shard was acknowledged by that backend
 *   h:<manifest id>-> [backend name]               the backends that hold this snapshot's header
 *   m:<manifest id>-> Snapshot                     decrypted header and body of a snapshot
 *   i:<manifest id>-> SnapshotInfo                 what listings show of it, without the tree
 *   v:<manifest id>-> time                         a snapshot seen (pushed, or listed by a host)
 *   p:<placement id>-> Placement                   sectors a repair moved (placement.ts), read from the hosts once
 *   f:<backend>    -> ms since the epoch           when the backend first failed to answer, since it last did
 *   r:<sector id>  -> 1                            a push stored the sector below its wanted shard count
 *
 * Listing snapshots, and resolving `latest`, reads only the i: records: each
 * m: record holds a whole tree (~17 ms to decode for 5,000 files), and a cron
 * job's daily snapshots add up. An index from before the i: records gets them
 * as it is read.
 *
 * The v: records are the one thing here the hosts cannot give back: the
 * snapshots this machine has seen, so that one no host lists any more (a host
 * hiding the newest manifest) is noticed rather than silently missing
 * (docs/store.md, "Snapshots no host lists"). Only forget drops one.
 *
 * The a:, s: and h: records together say what the renter expects each backend
 * to hold (heldBy): the set its commitment revisions with that host sign.
 */
import { Level } from 'level';
import { CloudCoinError, ExitCode } from '../errors.js';
import { isDiskFull } from '../fsutil/write-all.js';
import { snapshotInfo, type SnapshotInfo } from './history.js';
import type { Snapshot } from './manifest.js';
import type { Placement } from './placement.js';
import type { SectorRecord } from './sector.js';

export type ChunkLocation = [sectorId: string, offset: number, length: number];

const _chunk = (id: string) => `c:${id}`;
const _sector = (id: string) => `s:${id}`;
const _ack = (id: string) => `a:${id}`;
const _holders = (id: string) => `h:${id}`;
const _manifest = (id: string) => `m:${id}`;
const _info = (id: string) => `i:${id}`;
const _seen = (id: string) => `v:${id}`;
const _placement = (id: string) => `p:${id}`;
const _failing = (backend: string) => `f:${backend}`;
const _queued = (id: string) => `r:${id}`;

/**
 * A write refused for want of space (LevelDB says so in words, see
 * isDiskFull), as one line. LevelDB drops a log record
 * it could not finish when it next opens, and the index is a cache of what the
 * hosts hold: nothing there is lost, and what was acknowledged but not recorded
 * is uploaded again.
 */
async function _written<T>(dir: string, write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (err) {
    if (!isDiskFull(err)) throw err;
    throw new CloudCoinError('ENOSPC', `disk full: the local index in ${dir} could not be written; free space and run the command again (nothing stored on the hosts is lost)`, ExitCode.failure);
  }
}

export class LocalIndex {
  private readonly _db: Level<string, any>;
  private readonly _dir: string;

  private constructor(db: Level<string, any>, dir: string) {
    this._db = db;
    this._dir = dir;
  }

  static async open(dir: string): Promise<LocalIndex> {
    const db = new Level<string, any>(dir, { valueEncoding: 'json' });
    await _written(dir, db.open());
    return new LocalIndex(db, dir);
  }

  close(): Promise<void> {
    return this._db.close();
  }

  chunk(id: string): Promise<ChunkLocation | undefined> {
    return this._db.get(_chunk(id));
  }

  /** chunk() for many ids in one LevelDB call (one thread-pool round trip instead of one each). */
  chunks(ids: string[]): Promise<(ChunkLocation | undefined)[]> {
    return ids.length === 0 ? Promise.resolve([]) : this._db.getMany(ids.map(_chunk));
  }

  sector(id: string): Promise<SectorRecord | undefined> {
    return this._db.get(_sector(id));
  }

  /** The backend that acknowledged each shard, if one did, in one LevelDB call (a sector's shards at once). */
  acked(shardIds: string[]): Promise<(string | undefined)[]> {
    return shardIds.length === 0 ? Promise.resolve([]) : this._db.getMany(shardIds.map(_ack));
  }

  putAck(shardId: string, backend: string): Promise<void> {
    return _written(this._dir, this._db.put(_ack(shardId), backend));
  }

  /** Records a fully stored sector and the chunks it holds, in one atomic batch. */
  putSector(rec: SectorRecord, chunks: Iterable<[string, number, number]>): Promise<void> {
    const ops: any[] = [{ type: 'put', key: _sector(rec.id), value: rec }];
    for (const [id, off, len] of chunks) ops.push({ type: 'put', key: _chunk(id), value: [rec.id, off, len] });
    return _written(this._dir, this._db.batch(ops));
  }

  /**
   * Records every chunk and sector of a snapshot read from the hosts, so a new
   * machine (or one that lost its index) pushing the same data again stores
   * nothing twice. Skipped when the snapshot's first sector is already known.
   */
  async adopt(snap: Snapshot): Promise<void> {
    const sectors = [...snap.header.sectors, ...snap.sectors];
    if (sectors.length === 0 || (await this.sector(sectors[0].id))) return;
    const ops: any[] = sectors.map((rec) => ({ type: 'put', key: _sector(rec.id), value: rec }));
    const refs = [...snap.header.body.chunks, ...snap.tree.flatMap((e) => e.chunks ?? [])];
    for (const [id, sid, off, len] of refs) ops.push({ type: 'put', key: _chunk(id), value: [sid, off, len] });
    await _written(this._dir, this._db.batch(ops));
  }

  /** Forgets sectors (after prune deleted them) with their chunks and shard acks. */
  async dropSectors(ids: Set<string>): Promise<void> {
    if (ids.size === 0) return;
    const ops: any[] = [];
    for await (const [key, loc] of this._db.iterator({ gte: 'c:', lt: 'c;' })) {
      if (ids.has(loc[0])) ops.push({ type: 'del', key });
    }
    for (const id of ids) {
      const rec: SectorRecord | undefined = await this.sector(id);
      if (rec) for (const [shard] of rec.shards) ops.push({ type: 'del', key: _ack(shard) });
      ops.push({ type: 'del', key: _sector(id) });
    }
    await _written(this._dir, this._db.batch(ops));
  }

  /** Every sector id the index knows. */
  async sectorIds(): Promise<string[]> {
    const out: string[] = [];
    for await (const key of this._db.keys({ gte: 's:', lt: 's;' })) out.push(key.slice(2));
    return out;
  }

  /** Every shard ack, of complete sectors and of those a push left half done: [shard id, backend]. */
  async acks(): Promise<[string, string][]> {
    const out: [string, string][] = [];
    for await (const [key, backend] of this._db.iterator({ gte: 'a:', lt: 'a;' })) out.push([key.slice(2), backend]);
    return out;
  }

  dropAcks(shardIds: string[]): Promise<void> {
    return _written(this._dir, this._db.batch(shardIds.map((id) => ({ type: 'del' as const, key: _ack(id) }))));
  }

  /** Records which backends hold a snapshot's header; none deletes the record. */
  putHolders(manifestId: string, backends: string[]): Promise<void> {
    const key = _holders(manifestId);
    return _written(this._dir, backends.length === 0 ? this._db.del(key) : this._db.put(key, [...new Set(backends)].sort()));
  }

  /** Adds backends to those recorded as holding a snapshot's header; writes only when one is new. */
  async addHolders(manifestId: string, backends: string[]): Promise<void> {
    const known: string[] = (await this._db.get(_holders(manifestId))) ?? [];
    if (backends.every((b) => known.includes(b))) return;
    await this.putHolders(manifestId, [...known, ...backends]);
  }

  /**
   * Per backend name (in name order), the ids of every object the index says it holds, sorted:
   * acknowledged shards, the shards of the sectors it records (those learnt from
   * a snapshot read from the hosts have no acks), and snapshot headers.
   */
  async heldBy(): Promise<Map<string, string[]>> {
    const sets = new Map<string, Set<string>>();
    const add = (backend: string, id: string) => {
      let ids = sets.get(backend);
      if (!ids) sets.set(backend, (ids = new Set()));
      ids.add(id);
    };
    for (const [shard, backend] of await this.acks()) add(backend, shard);
    for await (const rec of this._db.values({ gte: 's:', lt: 's;' })) for (const [shard, backend] of (rec as SectorRecord).shards) add(backend, shard);
    for await (const [key, backends] of this._db.iterator({ gte: 'h:', lt: 'h;' })) for (const b of backends as string[]) add(b, key.slice(2));
    const names = [...sets.keys()].sort();
    return new Map(names.map((backend) => [backend, [...sets.get(backend)!].sort()]));
  }

  snapshot(id: string): Promise<Snapshot | undefined> {
    return this._db.get(_manifest(id));
  }

  /** A snapshot's listing fields, without reading its tree (but once, for an index from before i: records). */
  async snapshotInfo(id: string): Promise<SnapshotInfo | undefined> {
    const info = await this._db.get(_info(id));
    if (info !== undefined) return info;
    const snap = await this.snapshot(id);
    if (snap === undefined) return undefined;
    const made = snapshotInfo(snap);
    await _written(this._dir, this._db.put(_info(id), made));
    return made;
  }

  putSnapshot(s: Snapshot): Promise<void> {
    return _written(
      this._dir,
      this._db.batch([
        { type: 'put', key: _manifest(s.id), value: s },
        { type: 'put', key: _info(s.id), value: snapshotInfo(s) },
        { type: 'put', key: _seen(s.id), value: s.header.time },
      ]),
    );
  }

  /** Forgets a snapshot: its cached manifest, and that it was ever seen. */
  delSnapshot(id: string): Promise<void> {
    return _written(
      this._dir,
      this._db.batch([
        { type: 'del', key: _manifest(id) },
        { type: 'del', key: _info(id) },
        { type: 'del', key: _seen(id) },
      ]),
    );
  }

  /** Remembers snapshots seen in a listing, with their time; writes only those not remembered yet. */
  async rememberSnapshots(snaps: { id: string; time: string }[]): Promise<void> {
    const known = snaps.length === 0 ? [] : await this._db.getMany(snaps.map((s) => _seen(s.id)));
    const ops = snaps.filter((_, i) => known[i] === undefined).map((s) => ({ type: 'put' as const, key: _seen(s.id), value: s.time }));
    if (ops.length > 0) await _written(this._dir, this._db.batch(ops));
  }

  /** Every snapshot remembered, with its time, in id order. */
  async rememberedSnapshots(): Promise<{ id: string; time: string }[]> {
    const out: { id: string; time: string }[] = [];
    for await (const [key, time] of this._db.iterator({ gte: 'v:', lt: 'v;' })) out.push({ id: key.slice(2), time });
    return out;
  }

  /** Stops remembering snapshots (those the user said to let go of), keeping whatever else the index holds of them. */
  forgetSeen(ids: string[]): Promise<void> {
    return _written(this._dir, this._db.batch(ids.map((id) => ({ type: 'del' as const, key: _seen(id) }))));
  }

  /** Every placement read so far, by id. */
  async placements(): Promise<Map<string, Placement>> {
    const out = new Map<string, Placement>();
    for await (const [key, p] of this._db.iterator({ gte: 'p:', lt: 'p;' })) out.set(key.slice(2), p);
    return out;
  }

  /**
   * Records placements and the sector records they change: those of sectors
   * the index knows are replaced, so a push that reuses them, and the sector
   * sets sent to the node, name the hosts that hold the shards now.
   */
  async putPlacements(placements: Map<string, Placement>, records: Iterable<SectorRecord>): Promise<void> {
    const ops: any[] = [...placements].map(([id, p]) => ({ type: 'put', key: _placement(id), value: p }));
    for (const rec of records) {
      if ((await this.sector(rec.id)) === undefined) continue;
      ops.push({ type: 'put', key: _sector(rec.id), value: rec });
      for (const [shard, backend] of rec.shards) ops.push({ type: 'put', key: _ack(shard), value: backend });
    }
    if (ops.length > 0) await _written(this._dir, this._db.batch(ops));
  }

  dropPlacements(ids: Iterable<string>): Promise<void> {
    return _written(this._dir, this._db.batch([...ids].map((id) => ({ type: 'del' as const, key: _placement(id) }))));
  }

  /**
   * Notes which backends answered: a failing one keeps the time it first
   * failed, one that answers forgets it. Returns every failing backend's time.
   */
  async noteAnswers(up: string[], down: string[], now = Date.now()): Promise<Map<string, number>> {
    const known = await this._db.getMany(down.map(_failing));
    const ops: any[] = up.map((b) => ({ type: 'del', key: _failing(b) }));
    const out = new Map<string, number>();
    down.forEach((b, i) => {
      out.set(b, known[i] ?? now);
      if (known[i] === undefined) ops.push({ type: 'put', key: _failing(b), value: now });
    });
    if (ops.length > 0) await _written(this._dir, this._db.batch(ops));
    return out;
  }

  /** Queues sectors for repair (stored below their wanted shard count). */
  queueRepair(ids: Iterable<string>): Promise<void> {
    return _written(this._dir, this._db.batch([...ids].map((id) => ({ type: 'put' as const, key: _queued(id), value: 1 }))));
  }

  async repairQueue(): Promise<string[]> {
    const out: string[] = [];
    for await (const key of this._db.keys({ gte: 'r:', lt: 'r;' })) out.push(key.slice(2));
    return out;
  }

  dropRepairQueue(ids: Iterable<string>): Promise<void> {
    return _written(this._dir, this._db.batch([...ids].map((id) => ({ type: 'del' as const, key: _queued(id) }))));
  }
}
