/**
 * push: source directory -> entries -> chunks -> dedup -> sectors -> sealed
 * sectors -> shards on the backends that answered (Store.push probes them
 * first) -> manifest on every one of those.
 *
 * Memory stays bounded: one chunker buffer (a 4 MiB batch of a streamed
 * file's chunks and 2 x max chunk), a run of small files of about as much, one
 * sector plaintext buffer, and at most `parallel` sealed sectors being
 * uploaded (see packer.ts). What
 * grows is the tree (one entry per path, one reference per chunk), held in
 * memory and stored last, as the snapshot body (see manifest.ts).
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { CloudCoinError, ExitCode } from '../errors.js';
import type { Backend } from './backend.js';
import type { Chunker } from './chunker.js';
import type { StoreKeys } from './keys.js';
import type { LocalIndex } from './localindex.js';
import { Packer } from './packer.js';
import { type ChunkRef, type ManifestHeader, type Snapshot, type TreeEntry, encodeBody, encodeHeader, newManifestId } from './manifest.js';
import { ProgressMeter, type ProgressFn } from './progress.js';
import type { SectorWorker } from './sectorworker.js';
import type { HostDown, ShardIO } from './shards.js';
import { type WalkResult, walk } from './walker.js';

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

/**
 * Files up to this size are read with synchronous calls (open, fstat, read,
 * close in a row): the promise API sends each call through libuv's thread pool
 * and back, which is most of what a small file costs (see `npm run bench`).
 */
const _SMALL_FILE = 256 * 1024;

/**
 * A small file's bytes (as many as it had when opened), or null if it has grown
 * past twice the limit since the walk. Read into `into` at `at` when they fit:
 * a run's files share one buffer, reused run after run, where a fresh buffer
 * per file cost a page fault per 4 KiB and garbage to collect.
 */
function _readSmall(abs: string, into: Buffer, at: number): Buffer | null {
  // O_NOFOLLOW: if the file was swapped for a symlink since the walk, refuse rather than follow it.
  const fd = openSync(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const size = fstatSync(fd).size;
    if (size > 2 * _SMALL_FILE) return null;
    if (at + size > into.length) return readFileSync(fd);
    let got = 0;
    for (let n = 1; got < size && n > 0; got += n) n = readSync(fd, into, at + got, size - got, null);
    return into.subarray(at, at + got);
  } finally {
    closeSync(fd);
  }
}

/** Cuts bytes held in memory into chunks: views of `body`, nothing copied. */
function _cut(chunker: Chunker, body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let pos = 0; pos < body.length; ) {
    const len = chunker.cut(body, pos, body.length - pos);
    out.push(body.subarray(pos, pos + len));
    pos += len;
  }
  return out;
}

/** A streamed file's chunks are deduplicated this many bytes at a time, in one index call. */
const _BATCH = 4 * 1024 * 1024;

/** Streams a file through the chunker and the packer, a batch of chunks at a time. */
async function _storeFile(packer: Packer, chunker: Chunker, abs: string, meter: ProgressMeter): Promise<{ size: number; chunks: ChunkRef[] }> {
  const fh = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const chunks: ChunkRef[] = [];
    const read = async (buf: Uint8Array, off: number, len: number) => (await fh.read(buf, off, len)).bytesRead;
    let total = 0;
    for await (const batch of chunker.batches(read, _BATCH)) {
      chunks.push(...(await packer.addAll(batch)));
      const bytes = batch.reduce((s, c) => s + c.length, 0);
      total += bytes;
      meter.bytes += bytes;
      meter.tick();
    }
    return { size: total, chunks };
  } finally {
    await fh.close();
  }
}

interface _SmallFile {
  entry: TreeEntry;
  abs: string;
}

/**
 * Stores a run of small files (each read whole, with synchronous calls) with
 * one index call for all their chunks; fills in each entry's size and chunks.
 * A file that vanished or cannot be read is listed in `skipped` and its entry
 * added to `dropped`; one that grew past the limit is streamed.
 */
async function _storeSmall(
  packer: Packer,
  chunker: Chunker,
  buf: Buffer,
  files: _SmallFile[],
  meter: ProgressMeter,
  skipped: string[],
  dropped: Set<TreeEntry>,
): Promise<void> {
  const drop = (entry: TreeEntry, err: any) => {
    // A file that vanished or cannot be read is reported, not fatal; upload errors are.
    if (err instanceof CloudCoinError || typeof err?.syscall !== 'string') throw err;
    skipped.push(`${entry.path}: ${err.code}`);
    dropped.add(entry);
    meter.files--;
  };
  let used = 0;
  const bodies = files.map((f) => {
    try {
      const body = _readSmall(f.abs, buf, used);
      if (body?.buffer === buf.buffer) used += body.length;
      return body;
    } catch (err) {
      drop(f.entry, err);
      return undefined;
    }
  });
  const cuts = bodies.map((b) => (b ? _cut(chunker, b) : []));
  const refs = await packer.addAll(cuts.flat());
  let at = 0;
  for (let i = 0; i < files.length; i++) {
    const body = bodies[i];
    const { entry, abs } = files[i];
    if (body === null) {
      try {
        Object.assign(entry, await _storeFile(packer, chunker, abs, meter));
      } catch (err) {
        drop(entry, err);
      }
    } else if (body) {
      Object.assign(entry, { size: body.length, chunks: refs.slice(at, (at += cuts[i].length)) });
      meter.bytes += body.length;
    }
  }
  meter.tick();
}

/** Small files are stored this many, or this many bytes, at a time. */
const _SMALL_RUN = 512;
const _SMALL_RUN_BYTES = 4 * 1024 * 1024;

/** What a push stores: the source directory, walked. */
export interface PushSource extends WalkResult {
  /** The source's absolute path. */
  root: string;
  /** When the walk began: the snapshot's time. */
  time: string;
  /** performance.now() then: the push's seconds count from it. */
  started: number;
}

/** Walks `source` for push (only reads: it may run before the hosts and keys are known). */
export async function walkSource(source: string): Promise<PushSource> {
  const root = resolve(source);
  const time = new Date().toISOString();
  const started = performance.now();
  try {
    return { root, time, started, ...(await walk(root)) };
  } catch (err: any) {
    throw new CloudCoinError('ESOURCE', `cannot read ${root}: ${err.message}`, ExitCode.usage);
  }
}

/** Pushes a walked source as a new snapshot. */
export async function push(ctx: PushContext, walked: PushSource, options: PushOptions = {}): Promise<PushSummary> {
  const tags = options.tags ?? [];
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string' && t.length > 0)) throw new TypeError('tags must be non-empty strings');
  const { root, time } = walked;
  const meter = new ProgressMeter('push', options.progress, undefined, walked.started);
  const sentBefore = ctx.io.sent;
  meter.totalFiles = walked.entries.length;
  meter.totalBytes = walked.entries.reduce((s, e) => s + e.size, 0);
  const skipped = [...walked.skipped];
  const packer = new Packer(ctx);
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
  // Small files wait in a run, their entries already in the tree, and are stored together.
  const dropped = new Set<TreeEntry>();
  let run: _SmallFile[] = [];
  let runBytes = 0;
  // The run's bytes by their sizes at the walk: what a run reaches before it is stored, and one more file.
  const runBuf = Buffer.allocUnsafe(_SMALL_RUN_BYTES + _SMALL_FILE);
  const storeRun = async () => {
    await _storeSmall(packer, ctx.chunker, runBuf, run, meter, skipped, dropped);
    run = [];
    runBytes = 0;
  };
  for (const e of walked.entries) {
    const entry: TreeEntry = { path: e.path, type: e.type, mode: e.mode, mtime: e.mtime, uid: e.uid, gid: e.gid };
    if (e.target !== undefined) entry.target = e.target;
    const prev = e.type === 'file' ? before.get(e.path) : undefined;
    if (prev && prev.size === e.size && prev.mtime === e.mtime && packer.reuse(prev.chunks!, parentSectors)) {
      Object.assign(entry, { size: prev.size, chunks: prev.chunks });
      unchanged++;
      meter.bytes += e.size;
    } else if (e.type === 'file' && e.size <= _SMALL_FILE) {
      run.push({ entry, abs: e.abs });
      runBytes += e.size;
      if (run.length >= _SMALL_RUN || runBytes >= _SMALL_RUN_BYTES) await storeRun();
    } else if (e.type === 'file') {
      try {
        Object.assign(entry, await _storeFile(packer, ctx.chunker, e.abs, meter));
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
  await storeRun();
  // A hard link whose first name could not be read has nothing to link to.
  const stored = new Set(tree.filter((e) => e.type === 'file' && !dropped.has(e)).map((e) => e.path));
  const finalTree = tree.filter((e) => !dropped.has(e) && (e.type !== 'link' || stored.has(e.target!)));
  // Data sectors first: the body names them by id, known only once sealed. Listed in
  // order of first use in the tree, so an unchanged tree gives the same body bytes.
  await packer.finish();
  const dataSectors = new Set(finalTree.flatMap((e) => (e.chunks ?? []).map((c) => c[1])));
  const body = encodeBody(finalTree, [...dataSectors].map((sid) => packer.used.get(sid)!));
  const bodyRefs = await packer.addAll(_cut(ctx.bodyChunker, body));
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
