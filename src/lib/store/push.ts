/**
 * push: source directory -> entries -> chunks -> dedup -> sectors -> sealed
 * sectors -> shards on the backends that answered (Store.push probes them
 * first) -> manifest on every one of those.
 *
 * Memory stays bounded: one chunker buffer (2 x max chunk), one sector
 * plaintext buffer, and at most `parallel` sealed sectors being uploaded. What
 * grows is the tree (one entry per path, one reference per chunk), held in
 * memory and stored last, as the snapshot body (see manifest.ts).
 */
import { createHmac } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { CloudCoinError, ExitCode } from '../errors.js';
import type { Backend } from './backend.js';
import type { Chunker } from './chunker.js';
import type { StoreKeys } from './keys.js';
import type { LocalIndex } from './localindex.js';
import { type ChunkRef, type ManifestHeader, type Snapshot, type TreeEntry, encodeBody, encodeHeader, newManifestId } from './manifest.js';
import { ProgressMeter, type ProgressFn } from './progress.js';
import type { SectorWorker } from './sectorworker.js';
import { SECTOR_PLAIN_MAX, type SectorRecord } from './sector.js';
import type { HostDown, ShardIO } from './shards.js';
import { walk } from './walker.js';

export interface PushOptions {
  tags?: string[];
  /** Snapshot this one follows (recorded in the manifest). */
  parent?: string | null;
  /** Read every file, even those whose size and mtime match the parent snapshot's. */
  force?: boolean;
  progress?: ProgressFn;
}

export interface PushSummary {
  /** The new snapshot's id. */
  snapshot: string;
  /** Entries in the snapshot (files, directories, links). */
  files: number;
  /** Content bytes of all files. */
  bytes: number;
  /** Files whose size and mtime matched the parent snapshot's: their chunks were taken from it unread. */
  unchanged: number;
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
  /** Backends that did not answer before the push, so hold nothing of it. */
  hostsDown: HostDown[];
  /** Shards per new sector, and shards needed to rebuild one. */
  n: number;
  k: number;
}

export interface PushContext {
  keys: StoreKeys;
  index: LocalIndex;
  io: ShardIO;
  /** Chunks file contents. */
  chunker: Chunker;
  /** Chunks the snapshot body (smaller chunks: a changed entry should cost little). */
  bodyChunker: Chunker;
  /** The backends that answered: shards and the manifest go to these only. */
  hosts: Backend[];
  hostsDown: HostDown[];
  k: number;
  n: number;
  /** Sectors sealed and uploading at once. */
  parallel: number;
  worker: SectorWorker;
  /** The parent snapshot, whose unchanged files are not read again. */
  parent?: Snapshot;
}

interface OpenSector {
  used: number;
  /** The references handed out for this sector's chunks; their sector id is filled in when it is sealed. */
  refs: ChunkRef[];
}

/** Dedups chunks and packs new ones into sectors, sealing and uploading each as it fills. */
class _Packer {
  /** Every sector referenced so far, in order of first use. */
  readonly used = new Map<string, SectorRecord>();
  newBytes = 0;
  newSectors = 0;
  private readonly _ctx: PushContext;
  private readonly _pending = new Map<string, ChunkRef>();
  /** The open sector's plaintext; sealed sectors' buffers come back to `_free` for reuse. */
  private _buf: Buffer = Buffer.allocUnsafe(SECTOR_PLAIN_MAX);
  private readonly _free: Buffer[] = [];
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
    if (pending) return pending;
    const loc = await this._ctx.index.chunk(id);
    if (loc) {
      const rec = this.used.get(loc[0]) ?? (await this._ctx.index.sector(loc[0]));
      if (rec) {
        if (!this.used.has(rec.id)) this.used.set(rec.id, rec);
        return [id, ...loc];
      }
    }
    if (this._open && this._open.used + chunk.length > SECTOR_PLAIN_MAX) await this.flush();
    const open = (this._open ??= { used: 0, refs: [] });
    chunk.copy(this._buf, open.used);
    const ref: ChunkRef = [id, '', open.used, chunk.length];
    open.refs.push(ref);
    open.used += chunk.length;
    this._pending.set(id, ref);
    this.newBytes += chunk.length;
    return ref;
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
    const buf = this._buf;
    this._buf = this._free.pop() ?? Buffer.allocUnsafe(SECTOR_PLAIN_MAX);
    while (this._inflight.size >= this._ctx.parallel) await Promise.race(this._inflight);
    if (this._error) throw this._error;
    const { io, hosts, k, n, index, worker } = this._ctx;
    const task = (async () => {
      const sealed = await worker.seal(buf, open.used, open.refs.map((r) => r[0]), k, n);
      this._free.push(sealed.plain);
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

/**
 * Files up to this size are read with synchronous calls (open, fstat, read,
 * close in a row): the promise API sends each call through libuv's thread pool
 * and back, which is most of what a small file costs (see `npm run bench`).
 */
const _SMALL_FILE = 256 * 1024;

/** A small file's bytes, or null if it has grown past twice the limit since the walk. */
function _readSmall(abs: string): Buffer | null {
  // O_NOFOLLOW: if the file was swapped for a symlink since the walk, refuse rather than follow it.
  const fd = openSync(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    return fstatSync(fd).size > 2 * _SMALL_FILE ? null : readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

async function _storeFile(packer: _Packer, chunker: Chunker, abs: string, size: number, meter: ProgressMeter): Promise<{ size: number; chunks: ChunkRef[] }> {
  const small = size <= _SMALL_FILE ? _readSmall(abs) : null;
  if (small) {
    const chunks = await _storeBytes(packer, chunker, small);
    meter.bytes += small.length;
    meter.tick();
    return { size: small.length, chunks };
  }
  const fh = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const chunks: ChunkRef[] = [];
    let total = 0;
    const read = async (buf: Uint8Array, off: number, len: number) => (await fh.read(buf, off, len)).bytesRead;
    for await (const chunk of chunker.chunks(read)) {
      chunks.push(await packer.add(chunk));
      total += chunk.length;
      meter.bytes += chunk.length;
      meter.tick();
    }
    return { size: total, chunks };
  } finally {
    await fh.close();
  }
}

/** Stores bytes held in memory (a small file, the snapshot body) through the packer; returns their chunk references. */
async function _storeBytes(packer: _Packer, chunker: Chunker, body: Buffer): Promise<ChunkRef[]> {
  let pos = 0;
  const read = async (buf: Uint8Array, off: number, len: number) => {
    const n = Math.min(len, body.length - pos);
    buf.set(body.subarray(pos, pos + n), off);
    pos += n;
    return n;
  };
  const refs: ChunkRef[] = [];
  for await (const chunk of chunker.chunks(read)) refs.push(await packer.add(chunk));
  return refs;
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
  const skipped = [...walked.skipped];
  const packer = new _Packer(ctx);
  const tree: TreeEntry[] = [];
  // rsync's quick check: a file whose size and mtime are the parent's is taken as unchanged (--force reads all).
  // Not one whose mtime came less than 2 s before the parent push began: a change made
  // right after that push read it could have kept the same mtime on a coarse clock (git's
  // "racily clean" files).
  const trustedBefore = ctx.parent ? Date.parse(ctx.parent.header.time) * 1000 - 2_000_000 : 0;
  const before = new Map(
    options.force ? [] : (ctx.parent?.tree ?? []).filter((e) => e.type === 'file' && e.mtime < trustedBefore).map((e) => [e.path, e]),
  );
  const parentSectors = new Map((ctx.parent?.sectors ?? []).map((r) => [r.id, r]));
  let unchanged = 0;
  for (const e of walked.entries) {
    const entry: TreeEntry = { path: e.path, type: e.type, mode: e.mode, mtime: e.mtime, uid: e.uid, gid: e.gid };
    if (e.target !== undefined) entry.target = e.target;
    const prev = e.type === 'file' ? before.get(e.path) : undefined;
    if (prev && prev.size === e.size && prev.mtime === e.mtime && packer.reuse(prev.chunks!, parentSectors)) {
      Object.assign(entry, { size: prev.size, chunks: prev.chunks });
      unchanged++;
      meter.bytes += e.size;
    } else if (e.type === 'file') {
      try {
        Object.assign(entry, await _storeFile(packer, ctx.chunker, e.abs, e.size, meter));
      } catch (err: any) {
        // A file that vanished or cannot be read is reported, not fatal; upload errors are.
        if (err instanceof CloudCoinError || typeof err?.syscall !== 'string') throw err;
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
  // Data sectors first: the body names them by id, known only once sealed. Listed in
  // order of first use in the tree, so an unchanged tree gives the same body bytes.
  await packer.finish();
  const dataSectors = new Set(finalTree.flatMap((e) => (e.chunks ?? []).map((c) => c[1])));
  const body = encodeBody(finalTree, [...dataSectors].map((sid) => packer.used.get(sid)!));
  const bodyRefs = await _storeBytes(packer, ctx.bodyChunker, body);
  await packer.finish();
  const header: ManifestHeader = {
    version: 1,
    time,
    hostname: hostname(),
    source: root,
    tags,
    parent: options.parent ?? null,
    files: finalTree.length,
    bytes: meter.bytes,
    body: { size: body.length, chunks: bodyRefs },
    sectors: [...new Set(bodyRefs.map((r) => r[1]))].map((sid) => packer.used.get(sid)!),
  };
  const id = newManifestId(ctx.keys);
  const blob = encodeHeader(ctx.keys, id, header);
  const warnings: string[] = [];
  const results = await Promise.allSettled(ctx.hosts.map((b) => ctx.io.put(b, id, blob)));
  results.forEach((r, i) => {
    if (r.status === 'rejected') warnings.push(`${ctx.hosts[i].name}: manifest not stored: ${r.reason?.message ?? r.reason}`);
  });
  if (warnings.length === results.length) throw new CloudCoinError('EUPLOAD', `no backend stored the manifest (${warnings.join('; ')})`, ExitCode.failure);
  await ctx.index.putSnapshot({ id, header, tree: finalTree, sectors: [...dataSectors].map((sid) => packer.used.get(sid)!) });
  meter.transferred = ctx.io.sent - sentBefore;
  meter.tick(true);
  return {
    snapshot: id,
    files: finalTree.length,
    bytes: meter.bytes,
    unchanged,
    newBytes: packer.newBytes,
    uploaded: ctx.io.sent - sentBefore,
    sectors: packer.newSectors,
    seconds: meter.seconds,
    skipped,
    warnings,
    hostsDown: ctx.hostsDown,
    n: ctx.n,
    k: ctx.k,
  };
}
