/**
 * The source's files into the packer, for push: each file read, cut into
 * chunks, deduplicated and packed, its tree entry given its size and chunks.
 *
 * Two lanes run at once on the main thread: big files streamed one after
 * another through the chunker (its stream buffer is theirs), and small files
 * read whole with synchronous calls, in runs with one index call a run. When
 * one lane waits (for a read in the thread pool, the index, a free upload
 * slot) the other works, and the small lane keeps pace with the big one (see
 * Pace). One after the other, the small files' reading ran alone at the end
 * of a push whose tree walks them last, the main thread busy and the sector
 * worker idle.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { CloudCoinError } from '../errors.js';
import type { Chunker } from './chunker.js';
import type { ChunkRef, TreeEntry } from './manifest.js';
import type { Packer } from './packer.js';
import { Pace } from './pace.js';
import type { ProgressMeter } from './progress.js';

/**
 * Files up to this size are read with synchronous calls (open, fstat, read,
 * close in a row): the promise API sends each call through libuv's thread pool
 * and back, which is most of what a small file costs (see `npm run bench`).
 */
export const SMALL_FILE = 256 * 1024;

/** Small files are stored this many, or this many bytes, at a time. */
const _SMALL_RUN = 512;
const _SMALL_RUN_BYTES = 4 * 1024 * 1024;

/** A streamed file's chunks are deduplicated this many bytes at a time, in one index call. */
const _BATCH = 4 * 1024 * 1024;

/** A file to store: its entry in the new tree, its path, and its size at the walk. */
export interface FileTask {
  entry: TreeEntry;
  abs: string;
  size: number;
}

export interface FilesContext {
  packer: Packer;
  chunker: Chunker;
  meter: ProgressMeter;
  /** Paths not stored, with the reason: a file that vanished or cannot be read. */
  skipped: string[];
  /** The entries of those files, to leave out of the tree. */
  dropped: Set<TreeEntry>;
  /** Called after each file or run: progress. */
  tick(): void;
  /** Stops both lanes at their next file or batch (push.ts then writes no snapshot). */
  signal?: AbortSignal;
}

/** Cuts bytes held in memory into chunks: views of `body`, nothing copied. */
export function cutAll(chunker: Chunker, body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let pos = 0; pos < body.length; ) {
    const len = chunker.cut(body, pos, body.length - pos);
    out.push(body.subarray(pos, pos + len));
    pos += len;
  }
  return out;
}

/**
 * Stores `big` (streamed) and `small` (up to SMALL_FILE at the walk) files.
 * The first error that is not a file's own (an upload, the index) stops both
 * lanes at their next file and is thrown once both have stopped.
 */
export async function storeFiles(c: FilesContext, big: FileTask[], small: FileTask[]): Promise<void> {
  const grown: FileTask[] = [];
  let failed = false;
  const lane = (run: () => Promise<void>) =>
    run().catch((err) => {
      failed = true;
      throw err;
    });
  const live = () => !failed && !c.signal?.aborted;
  const pace = new Pace(big.reduce((s, f) => s + f.size, 0));
  const ends = await Promise.allSettled([
    lane(() => _bigLane(c, big, live, pace).finally(() => pace.end())),
    lane(() => _smallLane(c, small, grown, live, pace)),
  ]);
  for (const end of ends) if (end.status === 'rejected') throw end.reason;
  // Small files that grew past twice the limit since the walk: streamed once the big lane is done with the chunker.
  await _bigLane(c, grown, live);
}

/** A file that vanished or cannot be read is reported and left out, not fatal; upload errors are. */
function _drop(c: FilesContext, entry: TreeEntry, err: any): void {
  if (err instanceof CloudCoinError || typeof err?.syscall !== 'string') throw err;
  c.skipped.push(`${entry.path}: ${err.code}`);
  c.dropped.add(entry);
}

async function _bigLane(c: FilesContext, files: FileTask[], live: () => boolean, pace?: Pace): Promise<void> {
  for (const f of files) {
    if (!live()) return;
    try {
      Object.assign(f.entry, await _storeFile(c, f.abs, pace));
      c.meter.files++;
    } catch (err) {
      _drop(c, f.entry, err);
    }
    c.tick();
  }
}

async function _smallLane(c: FilesContext, files: FileTask[], grown: FileTask[], live: () => boolean, pace: Pace): Promise<void> {
  // The run's bytes by their sizes at the walk: what a run reaches before it is stored, and one more file.
  const buf = Buffer.allocUnsafe(_SMALL_RUN_BYTES + SMALL_FILE);
  for (let i = 0; i < files.length && live(); ) {
    await pace.reach(i / files.length);
    if (!live()) return;
    let bytes = 0;
    let end = i;
    while (end < files.length && end - i < _SMALL_RUN && bytes < _SMALL_RUN_BYTES) bytes += files[end++].size;
    await _storeSmall(c, buf, files.slice(i, end), grown);
    i = end;
    c.tick();
  }
}

/** Streams a file through the chunker and the packer, a batch of chunks at a time. */
async function _storeFile(c: FilesContext, abs: string, pace?: Pace): Promise<{ size: number; chunks: ChunkRef[] }> {
  const fh = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const chunks: ChunkRef[] = [];
    const read = async (buf: Uint8Array, off: number, len: number) => (await fh.read(buf, off, len)).bytesRead;
    let total = 0;
    for await (const batch of c.chunker.batches(read, _BATCH)) {
      c.signal?.throwIfAborted();
      chunks.push(...(await c.packer.addAll(batch)));
      const bytes = batch.reduce((s, b) => s + b.length, 0);
      total += bytes;
      c.meter.bytes += bytes;
      c.meter.tick();
      pace?.advance(bytes);
    }
    return { size: total, chunks };
  } finally {
    await fh.close();
  }
}

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
    if (size > 2 * SMALL_FILE) return null;
    if (at + size > into.length) return readFileSync(fd);
    let got = 0;
    for (let n = 1; got < size && n > 0; got += n) n = readSync(fd, into, at + got, size - got, null);
    return into.subarray(at, at + got);
  } finally {
    closeSync(fd);
  }
}

/**
 * Stores a run of small files (each read whole, with synchronous calls) with
 * one index call for all their chunks; fills in each entry's size and chunks.
 * One that grew past the limit goes to `grown`, to be streamed.
 */
async function _storeSmall(c: FilesContext, buf: Buffer, files: FileTask[], grown: FileTask[]): Promise<void> {
  let used = 0;
  const bodies = files.map((f) => {
    try {
      const body = _readSmall(f.abs, buf, used);
      if (body?.buffer === buf.buffer) used += body.length;
      if (body === null) grown.push(f);
      return body;
    } catch (err) {
      _drop(c, f.entry, err);
      return null;
    }
  });
  const cuts = bodies.map((b) => (b ? cutAll(c.chunker, b) : []));
  const refs = await c.packer.addAll(cuts.flat());
  let at = 0;
  for (let i = 0; i < files.length; i++) {
    const body = bodies[i];
    if (!body) continue;
    Object.assign(files[i].entry, { size: body.length, chunks: refs.slice(at, (at += cuts[i].length)) });
    c.meter.bytes += body.length;
    c.meter.files++;
  }
}
