/**
 * pull: a snapshot's tree back onto disk (restore-tar.ts writes it as a tar stream). Every path is
 * checked before anything is written; every write goes to a temp file in the
 * final directory and is renamed into place, so a file is either its old self
 * or complete. Directory modes and times are set last, deepest first, because
 * creating children changes a directory's mtime and a read-only mode would stop them.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fchownSync, futimesSync, openSync, renameSync } from 'node:fs';
import { chown, lchown, lstat, link, lutimes, mkdir, open, realpath, symlink, unlink, utimes, chmod, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { BufferPool } from '../buffer-pool.js';
import { CloudCoinError, ExitCode, interruptedError } from '../errors.js';
import { DirectWriter, alignedBuffer, alignedBuffersAvailable } from '../fsutil/direct-io.js';
import { isDiskFull, writeAll, writeAllSync } from '../fsutil/write-all.js';
import type { TreeEntry } from './manifest.js';
import { Pace } from './pace.js';
import { ProgressMeter, type ProgressFn } from './progress.js';
import type { SnapshotReader } from './reader.js';
import { DirGuard, UnsafePathError, checkRelPath, parentOf } from './safepath.js';

export interface PullOptions {
  /** Restore only these paths (and everything below them). */
  include?: string[];
  progress?: ProgressFn;
  /** Write files of more than 256 KiB around the page cache where the file system allows it (default true). */
  direct?: boolean;
  /**
   * Stops the restore: files being written are left as they were (their temp
   * files removed), those restored stay, and the pull throws interruptedError.
   */
  signal?: AbortSignal;
}

export interface PullResult {
  files: number;
  bytes: number;
  seconds: number;
  /** Entries not restored, with the reason (e.g. a path through a symlink). */
  errors: string[];
}

/** Entries selected by `include`; hard links to files left out become those files' contents. */
export function selectEntries(tree: TreeEntry[], include?: string[]): TreeEntry[] {
  for (const e of tree) {
    checkRelPath(e.path);
    if (e.type === 'link') checkRelPath(e.target, `hard link target of ${JSON.stringify(e.path)}`);
  }
  if (!include || include.length === 0) return tree;
  const inc = include.map((p) => p.replace(/^\.?\/+|\/+$/g, ''));
  inc.forEach((p) => checkRelPath(p, 'include'));
  const under = (p: string, i: string) => p === i || p.startsWith(`${i}/`);
  const wanted = (p: string) => inc.some((i) => under(p, i));
  // As tar(1) does for a name not in the archive: a mistyped path restores nothing, and says so.
  const missing = inc.filter((i) => !tree.some((e) => under(e.path, i)));
  if (missing.length > 0) throw new CloudCoinError('ENOPATH', `--include ${missing.map((m) => JSON.stringify(m)).join(', ')}: not in the snapshot`, ExitCode.usage);
  const files = new Map(tree.filter((e) => e.type === 'file').map((e) => [e.path, e]));
  const out: TreeEntry[] = [];
  for (const e of tree) {
    if (!wanted(e.path)) continue;
    const first = e.type === 'link' ? files.get(e.target!) : undefined;
    if (first && !wanted(first.path)) out.push({ ...first, path: e.path, mode: e.mode, mtime: e.mtime });
    else out.push(e);
  }
  return out;
}

/**
 * Owners are restored only by root, as tar and restic do: anyone else could
 * not give files away, and their own ownership is what they expect. Before
 * the mode, since a chown clears the set-user-id and set-group-id bits.
 */
const _AS_ROOT = process.getuid?.() === 0;
const _owned = (e: TreeEntry) => _AS_ROOT && e.uid !== undefined;
/** A file system without owners (vfat, some network mounts) keeps the file, as tar does; other errors stay errors. */
function _chownRefused(err: any): void {
  if (!['EPERM', 'EINVAL', 'ENOTSUP', 'EOPNOTSUPP'].includes(err?.code)) throw err;
}

/**
 * Temporary names: a random prefix drawn once per process and a counter. Files
 * are created exclusively ('wx'), so a name only has to be unlikely to be
 * taken; 6 random bytes for each of thousands of files cost more than the write.
 */
const _TMP_PREFIX = `.cc-restore-${randomBytes(6).toString('hex')}-`;
let _tmpCount = 0;
const _tmpName = (dir: string) => join(dir, `${_TMP_PREFIX}${(_tmpCount++).toString(36)}.tmp`);
/**
 * Seconds for utimes from microseconds. libuv turns seconds into a timespec
 * and truncates to the microsecond, and us / 1e6 as a double is as often just
 * below the microsecond as above it: half of all mtimes came back 1 µs early.
 * Half a microsecond toward the value's side of zero makes the truncation land
 * on it (a double's error here is a quarter of a microsecond).
 */
export const utimesSeconds = (us: number) => (us + (us < 0 ? -0.5 : 0.5)) / 1e6;

/**
 * Files up to this size are written with synchronous calls once their content
 * is in memory: six system calls in a row, each microseconds on a page cache,
 * where the promise API sends each one through libuv's thread pool and back
 * (two thread switches apiece, most of a small file's cost: see `npm run bench`).
 */
const _SMALL_FILE = 256 * 1024;

/** Small files are restored this many at a time between looks at the other files' pace. */
const _SMALL_RUN = 64;

/**
 * Small files are written this many at a time between turns of the event loop.
 * Written from a sector already open, a file's every await is a microtask: run
 * after run, they held back the sockets and the sector worker's answers for up
 * to ~70 ms at a time, and the worker idled.
 */
const _SMALL_TURN = 4;
const _nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Files of more than a sector restore at most this many at a time: each holds
 * the sector it is writing and the next, which it fetches ahead (8 MiB outside
 * the reader's cache), so eight at once took ~50 MiB more at the peak for no
 * gain in speed; small files keep the full parallelism.
 */
const _BIG_FILE = 4 * 1024 * 1024;
const _BIG_PARALLEL = 2;

/**
 * Larger files are written a sector's run of chunks at a time, in one writev
 * each: one thread-pool round trip per chunk (two thread switches, on a
 * 2-core machine shared with the sector worker) cost more than the copy.
 */
const _WRITE_BATCH = 4 * 1024 * 1024;

/** Writes a small file's content, mode and times to `tmp` and renames it to `final`, all synchronously. */
function _writeSmall(tmp: string, final: string, parts: Buffer[], e: TreeEntry): void {
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeAllSync(fd, parts);
    if (_owned(e)) {
      try {
        fchownSync(fd, e.uid!, e.gid ?? -1);
      } catch (err) {
        _chownRefused(err);
      }
    }
    fchmodSync(fd, e.mode);
    futimesSync(fd, utimesSeconds(e.mtime), utimesSeconds(e.mtime));
  } finally {
    closeSync(fd);
  }
  _renameOver(tmp, final, e);
}

/**
 * rename(tmp, final), refusing to replace a directory: rename(2) itself
 * refuses to put a non-directory over one (EISDIR), so no lstat first, which
 * was one more system call for each of thousands of small files.
 */
function _renameOver(tmp: string, final: string, e: TreeEntry): void {
  try {
    renameSync(tmp, final);
  } catch (err: any) {
    if (err?.code === 'EISDIR') throw new UnsafePathError(`${JSON.stringify(e.path)} refused: a directory is in the way`);
    throw err;
  }
}

/**
 * Memory for writing restored files around the page cache (fsutil/direct-io.ts):
 * a 1 MiB aligned buffer per file being written, so at most `parallel` MiB.
 * Off for the rest of a restore once the target's file system refuses O_DIRECT.
 * Why: on our virtual machines a page-cache page costs ~12 µs of CPU on its first
 * touch, which was a fifth of a 2 GB pull's CPU (docs/store.md, "Speed and memory").
 */
class _DirectWrites {
  readonly buffers = new BufferPool({ make: () => alignedBuffer(1024 * 1024) });

  constructor(public on: boolean) {}
}

/** A new file at `tmp` opened for a direct write, or null where the file system refuses O_DIRECT. */
async function _createDirect(tmp: string, buffer: Buffer): Promise<DirectWriter | null> {
  try {
    return await DirectWriter.create(tmp, buffer, 0o600);
  } catch (err: any) {
    if (err?.code !== 'EINVAL') throw err;
    // The refusal comes after the file is created.
    await unlink(tmp).catch(() => undefined);
    return null;
  }
}

/** Writes a file of more than _SMALL_FILE bytes to `tmp`, with its owner, mode and times. */
async function _writeFile(tmp: string, reader: SnapshotReader, e: TreeEntry, meter: ProgressMeter, direct: _DirectWrites, pace: Pace): Promise<void> {
  const buffer = direct.on ? direct.buffers.take() : null;
  try {
    const writer = buffer && (await _createDirect(tmp, buffer));
    if (buffer && !writer) direct.on = false;
    const fh = writer?.handle ?? (await open(tmp, 'wx', 0o600));
    try {
      if (writer) {
        for await (const chunk of reader.content(e.chunks!)) {
          await writer.write(chunk);
          // Copied out: the sector's memory may take another one.
          reader.release(chunk);
          meter.bytes += chunk.length;
          pace.advance(chunk.length);
          meter.tick();
        }
        await writer.end();
      } else {
        await _writeBuffered(fh, reader, e, meter, pace);
      }
      if (_owned(e)) await fh.chown(e.uid!, e.gid ?? -1).catch(_chownRefused);
      await fh.chmod(e.mode);
      await fh.utimes(utimesSeconds(e.mtime), utimesSeconds(e.mtime));
    } finally {
      await fh.close();
    }
  } finally {
    if (buffer) direct.buffers.give(buffer);
  }
}

/** A file's content through the page cache, a sector's run of chunks at a time. */
async function _writeBuffered(fh: FileHandle, reader: SnapshotReader, e: TreeEntry, meter: ProgressMeter, pace: Pace): Promise<void> {
  let batch: Buffer[] = [];
  let batched = 0;
  const flush = async () => {
    await writeAll(fh, batch);
    // Written to the file: the sector's memory may take another one.
    for (const chunk of batch) reader.release(chunk);
    meter.bytes += batched;
    pace.advance(batched);
    meter.tick();
    batch = [];
    batched = 0;
  };
  for await (const chunk of reader.content(e.chunks!)) {
    // Chunks of one sector are views of its plaintext: a batch holds no other sector.
    if (batch.length > 0 && (chunk.buffer !== batch[0].buffer || batched + chunk.length > _WRITE_BATCH)) await flush();
    batch.push(chunk);
    batched += chunk.length;
  }
  await flush();
}

/**
 * Restores the selected entries under `target` (created if missing), `parallel`
 * (default 8) entries at a time, in phases: directories and files, then hard links (their
 * targets now exist), then symlinks (last, so no write of this restore can pass
 * through one), then directory modes and times, deepest first. Files of up to
 * _SMALL_FILE are written one at a time beside the others, at their pace: in
 * tree order, a tree's small files came all together, the main thread busy
 * with their system calls while the sector worker idled, and the other way
 * round for its big files.
 */
export async function restoreToDir(
  reader: SnapshotReader,
  entries: TreeEntry[],
  target: string,
  options: { progress?: ProgressFn; parallel?: number; direct?: boolean; signal?: AbortSignal } = {},
): Promise<PullResult> {
  const parallel = options.parallel ?? 8;
  const progress = options.progress;
  const signal = options.signal;
  const meter = new ProgressMeter('pull', progress);
  meter.totalFiles = entries.length;
  meter.totalBytes = entries.reduce((s, e) => s + (e.type === 'file' ? e.size! : 0), 0);
  // Where no entry is in flight: each stopped at its next chunk (the reader's signal), its temp file removed.
  const halt = () => {
    if (signal?.aborted) throw interruptedError(signal, `${meter.files} of ${entries.length} entries restored under ${target}; pull again to finish`);
  };
  halt();
  await mkdir(target, { recursive: true }).catch((err) => {
    if (err?.code === 'EEXIST' || err?.code === 'ENOTDIR') throw new CloudCoinError('ETARGET', `${target} is not a directory`, ExitCode.usage);
    throw err;
  });
  const guard = new DirGuard(await realpath(target));
  const errors: string[] = [];
  const direct = new _DirectWrites((options.direct ?? true) && alignedBuffersAvailable);
  const small = new Set(entries.filter((e) => e.type === 'file' && e.size! <= _SMALL_FILE));
  const rest = entries.filter((e) => (e.type === 'directory' || e.type === 'file') && !small.has(e));
  const pace = new Pace(rest.reduce((s, e) => s + (e.size ?? 0), 0));
  let bigRunning = 0;
  const bigWaiting: (() => void)[] = [];
  let failed = false;
  const stopped = () => failed || signal?.aborted === true;
  const one = async (e: TreeEntry) => {
    if (stopped()) return;
    const big = e.type === 'file' && e.size! > _BIG_FILE;
    if (big) {
      while (bigRunning >= _BIG_PARALLEL) await new Promise<void>((r) => bigWaiting.push(r));
      bigRunning++;
    }
    try {
      // A big file that waited for its turn while the restore stopped.
      if (stopped()) return;
      await _restoreEntry(guard, reader, e, meter, direct, pace);
      meter.files++;
      meter.tick();
    } catch (err: any) {
      // Interrupted: the entry is left as it was, and halt() says so once the others have ended.
      if (signal?.aborted) return;
      // A full disk stops the restore: every later write would fail the same way, each
      // after fetching its sectors. What is restored stays; the entry's temp file is gone.
      if (isDiskFull(err)) {
        failed = true;
        throw new CloudCoinError('ENOSPC', `disk full: ${JSON.stringify(e.path)} could not be written under ${target} (${meter.files} of ${entries.length} entries restored); free space and pull again`, ExitCode.failure);
      }
      // Refusals, unreadable sectors and file-system errors spoil one entry, not the restore;
      // anything else is a bug and stops it.
      if (!(err instanceof CloudCoinError) && typeof err?.syscall !== 'string') {
        failed = true;
        throw err;
      }
      errors.push(`${e.path}: ${err.message}`);
    } finally {
      if (big) {
        bigRunning--;
        bigWaiting.shift()?.();
      }
    }
  };
  // Small files in a lane of their own, kept at the pace of the others' bytes (see Pace).
  const smallLane = async () => {
    const files = [...small];
    for (let i = 0; i < files.length && !stopped(); i++) {
      if (i % _SMALL_RUN === 0) await pace.reach(i / files.length);
      else if (i % _SMALL_TURN === 0) await _nextTurn();
      await one(files[i]);
    }
  };
  const lanes = await Promise.allSettled([_pool(rest, parallel, one).finally(() => pace.end()), smallLane()]);
  for (const lane of lanes) if (lane.status === 'rejected') throw lane.reason;
  halt();
  const phase = (types: TreeEntry['type'][]) => _pool(entries.filter((e) => types.includes(e.type)), parallel, one);
  await phase(['link']);
  await phase(['symlink']);
  halt();
  const dirs = entries.filter((e) => e.type === 'directory').sort((a, b) => b.path.split('/').length - a.path.split('/').length);
  for (const d of dirs) {
    const abs = join(guard.root, d.path);
    try {
      if (_owned(d)) await chown(abs, d.uid!, d.gid ?? -1).catch(_chownRefused);
      await chmod(abs, d.mode);
      await utimes(abs, utimesSeconds(d.mtime), utimesSeconds(d.mtime));
    } catch (err: any) {
      errors.push(`${d.path}: ${err.message}`);
    }
  }
  meter.tick(true);
  return { files: meter.files, bytes: meter.bytes, seconds: meter.seconds, errors };
}

/**
 * Runs `fn` over `items` with at most `limit` in flight, in order of start.
 * Rejects with the first failure only once every call in flight has ended:
 * returning earlier let a failed restore return while other files were still
 * being written, their temp files left behind when the process then exited.
 */
async function _pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  const ended = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const failure = ended.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
}

async function _restoreEntry(guard: DirGuard, reader: SnapshotReader, e: TreeEntry, meter: ProgressMeter, direct: _DirectWrites, pace: Pace): Promise<void> {
  const parent = parentOf(e.path);
  await guard.ensure(parent);
  if (e.type === 'directory') return guard.ensure(e.path);
  const dir = join(guard.root, parent);
  const final = join(guard.root, e.path);
  const tmp = _tmpName(dir);
  try {
    if (e.type === 'file' && e.size! <= _SMALL_FILE) {
      const parts: Buffer[] = [];
      for await (const chunk of reader.content(e.chunks!)) parts.push(chunk);
      _writeSmall(tmp, final, parts, e);
      for (const p of parts) {
        meter.bytes += p.length;
        reader.release(p);
      }
      meter.tick();
      return;
    }
    if (e.type === 'file') {
      await _writeFile(tmp, reader, e, meter, direct, pace);
    } else if (e.type === 'symlink') {
      await symlink(e.target!, tmp);
      if (_owned(e)) await lchown(tmp, e.uid!, e.gid ?? -1).catch(_chownRefused);
      await lutimes(tmp, utimesSeconds(e.mtime), utimesSeconds(e.mtime));
    } else {
      await guard.ensure(parentOf(e.target!));
      const src = join(guard.root, e.target!);
      if (!(await lstat(src)).isFile()) throw new UnsafePathError(`hard link ${JSON.stringify(e.path)} refused: target is not a regular file`);
      await link(src, tmp);
    }
    _renameOver(tmp, final, e);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
