/**
 * push: source directory -> entries -> chunks -> dedup -> sectors -> sealed
 * sectors -> shards on the backends -> manifest on every backend.
 *
 * Memory stays bounded: one chunker buffer (2 x max chunk), one sector
 * plaintext buffer, and at most `parallel` sealed sectors being uploaded. What
 * grows with the data is the manifest (one entry per path, one reference per
 * chunk), which is kept in memory and written last.
 */
import { createHmac } from 'node:crypto';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { CloudCoinError, ExitCode } from '../errors.js';
import type { Chunker } from './chunker.js';
import type { StoreKeys } from './keys.js';
import type { LocalIndex } from './localindex.js';
import { type ChunkRef, type Manifest, type TreeEntry, encodeManifest, newManifestId } from './manifest.js';
import { ProgressMeter, type ProgressFn } from './progress.js';
import { SECTOR_PLAIN_MAX, type SectorRecord, sealSector, shardSector } from './sector.js';
import type { ShardIO } from './shards.js';
import { walk } from './walker.js';

export interface PushOptions {
  tags?: string[];
  /** Snapshot this one follows (recorded in the manifest). */
  parent?: string | null;
  progress?: ProgressFn;
}

export interface PushSummary {
  /** The new snapshot's id. */
  snapshot: string;
  /** Entries in the snapshot (files, directories, links). */
  files: number;
  /** Content bytes of all files. */
  bytes: number;
  /** Content bytes in chunks that were not stored before. */
  newBytes: number;
  /** Bytes sent to backends (shards and manifests). */
  uploaded: number;
  /** New sectors written. */
  sectors: number;
  seconds: number;
  /** Paths not stored (special files, unreadable files), with the reason. */
  skipped: string[];
  /** Backends that did not take the manifest (the snapshot is still on the others). */
  warnings: string[];
}

export interface PushContext {
  keys: StoreKeys;
  index: LocalIndex;
  io: ShardIO;
  chunker: Chunker;
  k: number;
  n: number;
  /** Sectors sealed and uploading at once. */
  parallel: number;
}

interface OpenSector {
  idx: number;
  used: number;
  chunks: [string, number, number][];
}

class _Packer {
  readonly sectors: SectorRecord[] = [];
  newBytes = 0;
  newSectors = 0;
  private readonly _ctx: PushContext;
  private readonly _table = new Map<string, number>();
  private readonly _pending = new Map<string, [number, number, number]>();
  private readonly _buf = Buffer.allocUnsafe(SECTOR_PLAIN_MAX);
  private readonly _inflight = new Set<Promise<void>>();
  private _open: OpenSector | null = null;
  private _error: unknown = null;

  constructor(ctx: PushContext) {
    this._ctx = ctx;
  }

  /** The reference for `chunk`, storing it if no stored or pending sector holds it. */
  async add(chunk: Buffer): Promise<ChunkRef> {
    if (this._error) throw this._error;
    const id = createHmac('sha256', this._ctx.keys.ids).update(chunk).digest('hex');
    const pending = this._pending.get(id);
    if (pending) return [id, ...pending];
    const loc = await this._ctx.index.chunk(id);
    if (loc) {
      const idx = await this._tableIndex(loc[0]);
      if (idx !== undefined) return [id, idx, loc[1], loc[2]];
    }
    if (this._open && this._open.used + chunk.length > SECTOR_PLAIN_MAX) await this.flush();
    const open = (this._open ??= { idx: this.sectors.push(null as unknown as SectorRecord) - 1, used: 0, chunks: [] });
    chunk.copy(this._buf, open.used);
    const ref: [number, number, number] = [open.idx, open.used, chunk.length];
    open.chunks.push([id, open.used, chunk.length]);
    open.used += chunk.length;
    this._pending.set(id, ref);
    this.newBytes += chunk.length;
    return [id, ...ref];
  }

  private async _tableIndex(sectorId: string): Promise<number | undefined> {
    const known = this._table.get(sectorId);
    if (known !== undefined) return known;
    const rec = await this._ctx.index.sector(sectorId);
    if (!rec) return undefined;
    this._table.set(sectorId, this.sectors.push(rec) - 1);
    return this.sectors.length - 1;
  }

  /** Seals the open sector and starts its upload, waiting first if `parallel` are in flight. */
  async flush(): Promise<void> {
    const open = this._open;
    if (!open) return;
    this._open = null;
    while (this._inflight.size >= this._ctx.parallel) await Promise.race(this._inflight);
    if (this._error) throw this._error;
    const { keys, io, k, n, index } = this._ctx;
    const { id, sealed } = sealSector(keys, this._buf.subarray(0, open.used));
    const { ids, shards } = shardSector(sealed, k, n);
    const placed = io.placement(id, n);
    const rec: SectorRecord = { id, size: sealed.length, k, shards: ids.map((sid, i) => [sid, placed[i].name]) };
    this.sectors[open.idx] = rec;
    this._table.set(id, open.idx);
    this.newSectors++;
    const task = (async () => {
      await io.putSector(rec, shards, index);
      await index.putSector(rec, open.chunks);
      for (const [cid] of open.chunks) this._pending.delete(cid);
    })()
      .catch((err) => {
        this._error ??= err;
      })
      .finally(() => this._inflight.delete(task));
    this._inflight.add(task);
  }

  /** Flushes and waits for every upload; throws the first upload error. */
  async finish(): Promise<void> {
    await this.flush();
    await Promise.all(this._inflight);
    if (this._error) throw this._error;
  }
}

async function _storeFile(packer: _Packer, chunker: Chunker, abs: string, meter: ProgressMeter): Promise<{ size: number; chunks: ChunkRef[] }> {
  // O_NOFOLLOW: if the file was swapped for a symlink since the walk, refuse rather than follow it.
  const fh = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const chunks: ChunkRef[] = [];
    let size = 0;
    const read = async (buf: Uint8Array, off: number, len: number) => (await fh.read(buf, off, len)).bytesRead;
    for await (const chunk of chunker.chunks(read)) {
      chunks.push(await packer.add(chunk));
      size += chunk.length;
      meter.bytes += chunk.length;
      meter.tick();
    }
    return { size, chunks };
  } finally {
    await fh.close();
  }
}

/** Pushes `source` as a new snapshot. */
export async function push(ctx: PushContext, source: string, options: PushOptions = {}): Promise<PushSummary> {
  if (typeof source !== 'string' || source.length === 0) throw new TypeError('source must be a directory path');
  const tags = options.tags ?? [];
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string' && t.length > 0)) throw new TypeError('tags must be non-empty strings');
  const root = resolve(source);
  const time = new Date().toISOString();
  const meter = new ProgressMeter('push', options.progress);
  const sentBefore = ctx.io.sent;
  let walked;
  try {
    walked = await walk(root);
  } catch (err: any) {
    throw new CloudCoinError('ESOURCE', `cannot read ${root}: ${err.message}`, ExitCode.usage);
  }
  meter.totalFiles = walked.entries.length;
  meter.totalBytes = walked.entries.reduce((s, e) => s + e.size, 0);
  const skipped = walked.skipped.map((p) => `${p}: not a file, directory or link`);
  const packer = new _Packer(ctx);
  const tree: TreeEntry[] = [];
  for (const e of walked.entries) {
    const entry: TreeEntry = { path: e.path, type: e.type, mode: e.mode, mtime: e.mtime };
    if (e.target !== undefined) entry.target = e.target;
    if (e.type === 'file') {
      try {
        Object.assign(entry, await _storeFile(packer, ctx.chunker, e.abs, meter));
      } catch (err: any) {
        if (err instanceof CloudCoinError || !err.code) throw err;
        skipped.push(`${e.path}: ${err.code}`);
        continue;
      }
    }
    tree.push(entry);
    meter.files++;
    meter.transferred = ctx.io.sent - sentBefore;
    meter.tick();
  }
  // A hard link whose first name could not be read has nothing to link to.
  const stored = new Set(tree.filter((e) => e.type === 'file').map((e) => e.path));
  const finalTree = tree.filter((e) => e.type !== 'link' || stored.has(e.target!));
  await packer.finish();
  const manifest: Manifest = {
    version: 1,
    time,
    hostname: hostname(),
    source: root,
    tags,
    parent: options.parent ?? null,
    sectors: packer.sectors,
    tree: finalTree,
  };
  const id = newManifestId(ctx.keys);
  const blob = encodeManifest(ctx.keys, id, manifest);
  const warnings: string[] = [];
  const results = await Promise.allSettled(ctx.io.backends.map((b) => ctx.io.put(b, id, blob)));
  results.forEach((r, i) => {
    if (r.status === 'rejected') warnings.push(`${ctx.io.backends[i].name}: manifest not stored: ${r.reason?.message ?? r.reason}`);
  });
  if (warnings.length === results.length) throw new CloudCoinError('EUPLOAD', `no backend stored the manifest (${warnings.join('; ')})`, ExitCode.failure);
  await ctx.index.putManifest(id, manifest);
  meter.transferred = ctx.io.sent - sentBefore;
  meter.tick(true);
  return {
    snapshot: id,
    files: finalTree.length,
    bytes: meter.bytes,
    newBytes: packer.newBytes,
    uploaded: ctx.io.sent - sentBefore,
    sectors: packer.newSectors,
    seconds: meter.seconds,
    skipped,
    warnings,
  };
}
