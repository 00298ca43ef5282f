/**
 * The packer of a push: dedups chunks against the local index and the
 * sectors still being stored, packs new chunks into sector plaintexts, and
 * hands each full sector to the sector worker to seal, then to ShardIO to
 * upload, a bounded number at a time. Chunk references handed out for a
 * sector get its id once it is sealed.
 */
import { createHmac } from 'node:crypto';
import { BufferPool } from '../buffer-pool.js';
import type { Backend } from './backend.js';
import type { StoreKeys } from './keys.js';
import type { ChunkLocation, LocalIndex } from './localindex.js';
import type { ChunkRef } from './manifest.js';
import type { SectorWorker } from './sectorworker.js';
import { SECTOR_PLAIN_MAX, type SectorRecord } from './sector.js';
import type { ShardIO } from './shards.js';

export interface PackerContext {
  keys: StoreKeys;
  index: LocalIndex;
  io: ShardIO;
  /** Backends the shards go to. */
  hosts: Backend[];
  k: number;
  n: number;
  /** Sectors sealed and uploading at once. */
  parallel: number;
  worker: SectorWorker;
}

/**
 * Sector plaintext buffers a push holds at most: one filling while the sector
 * worker seals one and has the next queued, so that it never waits for the
 * main thread. More only faulted fresh memory in (4 MiB each, up to eight).
 */
const PLAINTEXTS = 3;

interface OpenSector {
  buf: Buffer;
  used: number;
  /** The references handed out for this sector's chunks; their sector id is filled in when it is sealed. */
  refs: ChunkRef[];
}

/** Dedups chunks and packs new ones into sectors, sealing and uploading each as it fills. */
export class Packer {
  /** Every sector referenced so far, in order of first use. */
  readonly used = new Map<string, SectorRecord>();
  newBytes = 0;
  newSectors = 0;
  private readonly _ctx: PackerContext;
  private readonly _pending = new Map<string, ChunkRef>();
  /** At most PLAINTEXTS plaintext buffers; sealed sectors' come back for reuse, a failed seal's never. */
  private readonly _plaintexts = new BufferPool({ make: () => Buffer.allocUnsafe(SECTOR_PLAIN_MAX), limit: PLAINTEXTS });
  /** Who waits for a plaintext buffer. */
  private _waiting: (() => void)[] = [];
  private readonly _inflight = new Set<Promise<void>>();
  private _open: OpenSector | null = null;
  /** Set while the next sector waits for its buffer: both lanes wait for the same one. */
  private _opening: Promise<void> | null = null;
  private _error: unknown = null;

  constructor(ctx: PackerContext) {
    this._ctx = ctx;
  }

  /**
   * The references for `chunks`, in order, storing each that no stored or
   * pending sector holds. The index is asked about all of them in one call:
   * one LevelDB look-up a chunk was a tenth of a push.
   */
  async addAll(chunks: Buffer[]): Promise<ChunkRef[]> {
    if (this._error) throw this._error;
    const ids = chunks.map((c) => createHmac('sha256', this._ctx.keys.ids).update(c).digest('hex'));
    const asked = [...new Set(ids.filter((id) => !this._pending.has(id)))];
    const locs = await this._ctx.index.chunks(asked);
    const found = new Map(asked.map((id, i) => [id, locs[i]]));
    const refs: ChunkRef[] = [];
    for (let i = 0; i < chunks.length; i++) {
      const id = ids[i];
      const pending = this._pending.get(id);
      if (pending) {
        refs.push(pending);
        continue;
      }
      // Pending when asked but its sector completed since: the index has it now.
      const loc = found.has(id) ? found.get(id) : await this._ctx.index.chunk(id);
      refs.push(await this._add(chunks[i], id, loc));
    }
    return refs;
  }

  private async _add(chunk: Buffer, id: string, loc: ChunkLocation | undefined): Promise<ChunkRef> {
    if (loc) {
      const rec = this.used.get(loc[0]) ?? (await this._ctx.index.sector(loc[0]));
      if (rec) {
        if (!this.used.has(rec.id)) this.used.set(rec.id, rec);
        return [id, ...loc];
      }
    }
    // Either wait lets the other lane fill or flush the open sector: look again after it.
    for (;;) {
      const open = this._open;
      if (!open) {
        await (this._opening ??= this._openSector().finally(() => (this._opening = null)));
        continue;
      }
      if (open.used + chunk.length > SECTOR_PLAIN_MAX) {
        await this.flush();
        continue;
      }
      chunk.copy(open.buf, open.used);
      const ref: ChunkRef = [id, '', open.used, chunk.length];
      open.refs.push(ref);
      open.used += chunk.length;
      this._pending.set(id, ref);
      this.newBytes += chunk.length;
      return ref;
    }
  }

  /** Opens a sector once a plaintext buffer is free, or may be made; throws the first upload error instead. */
  private async _openSector(): Promise<void> {
    for (;;) {
      if (this._error) throw this._error;
      const buf = this._plaintexts.take();
      if (buf) {
        this._open = { buf, used: 0, refs: [] };
        return;
      }
      await new Promise<void>((resolve) => this._waiting.push(resolve));
    }
  }

  /** Wakes all who wait for a buffer, to look again: one came back, or an upload failed (a failed seal's never comes back). */
  private _wake(): void {
    const waiting = this._waiting;
    this._waiting = [];
    for (const resolve of waiting) resolve();
  }

  /**
   * Hands the open sector to the worker for sealing and starts its upload once sealed,
   * waiting first if `parallel` sectors are in flight. The chunks' references
   * get their sector id when sealing is done.
   */
  async flush(): Promise<void> {
    const open = this._open;
    if (!open) return;
    this._open = null;
    while (this._inflight.size >= this._ctx.parallel) await Promise.race(this._inflight);
    if (this._error) throw this._error;
    const { io, hosts, k, n, index, worker } = this._ctx;
    const task = (async () => {
      const sealed = await worker.seal(open.buf, open.used, open.refs.map((r) => r[0]), k, n);
      this._plaintexts.give(sealed.plain);
      this._wake();
      const placed = io.placement(sealed.id, n, hosts);
      const rec: SectorRecord = { id: sealed.id, size: sealed.size, k, shards: sealed.ids.map((sid, i) => [sid, placed[i].name]) };
      for (const ref of open.refs) ref[1] = sealed.id;
      this.used.set(sealed.id, rec);
      this.newSectors++;
      await io.putSector(rec, sealed.shards, index);
      worker.recycle(sealed);
      await index.putSector(rec, open.refs.map((r) => [r[0], r[2], r[3]]));
      for (const ref of open.refs) this._pending.delete(ref[0]);
    })()
      .catch((err) => {
        this._error ??= err;
        this._wake();
      })
      .finally(() => this._inflight.delete(task));
    this._inflight.add(task);
  }

  /**
   * Takes a file's chunk references from the parent snapshot as they are;
   * false, with nothing changed, when one of their sectors is not among `sectors`.
   */
  reuse(chunks: ChunkRef[], sectors: Map<string, SectorRecord>): boolean {
    if (!chunks.every((c) => this.used.has(c[1]) || sectors.has(c[1]))) return false;
    for (const c of chunks) if (!this.used.has(c[1])) this.used.set(c[1], sectors.get(c[1])!);
    return true;
  }

  /** Flushes and waits for every upload; throws the first upload error. */
  async finish(): Promise<void> {
    await this.flush();
    await Promise.all(this._inflight);
    if (this._error) throw this._error;
  }
}
