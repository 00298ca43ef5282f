/**
 * push: source directory -> entries -> chunks -> dedup -> sectors -> sealed
 * sectors -> shards on the backends that answered (Store.push probes them
 * first) -> manifest on every one of those.
 *
 * Memory stays bounded: one chunker buffer (a 4 MiB batch of a streamed
 * file's chunks and 2 x max chunk), a run of small files of about as much,
 * three sector plaintext buffers, and at most `parallel` sealed sectors being
 * uploaded (see packer.ts). What
 * grows is the tree (one entry per path, one reference per chunk), held in
 * memory and stored last, as the snapshot body (see manifest.ts).
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { CloudCoinError, ExitCode, interruptedError } from '../errors.js';
import type { Backend } from './backend.js';
import type { Chunker } from './chunker.js';
import { type FileTask, SMALL_FILE, cutAll, storeFiles } from './files.js';
import type { StoreKeys } from './keys.js';
import type { LocalIndex } from './localindex.js';
import { Packer } from './packer.js';
import { type ManifestHeader, type Snapshot, type TreeEntry, encodeBody, encodeHeader, newManifestId } from './manifest.js';
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
  /**
   * Stops the push at its next file or batch of chunks, before the manifest:
   * no snapshot is written, what the hosts acknowledged stays, and the next
   * push does not upload it again, as after kill -9 (interruptedError).
   */
  signal?: AbortSignal;
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
  /** Reduced redundancy (fewer hosts answered than the policy wants), and backends that did not take the manifest (the snapshot is still on the others). */
  warnings: string[];
  /** Backends that did not answer before the push, so hold nothing of it. */
  hostsDown: HostDown[];
  /** Shards per new sector, and shards needed to rebuild one. */
  n: number;
  k: number;
  /** Sectors of this snapshot below the wanted shard count, queued for `store repair`. */
  queued: number;
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
  /** Shards a sector should have; above n, the push is at reduced redundancy and says so in this warning. */
  wanted: number;
  reduced: string | null;
  /** Sectors sealed and uploading at once. */
  parallel: number;
  worker: SectorWorker;
  /** The parent snapshot, whose unchanged files are not read again. */
  parent?: Snapshot;
}

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
  const meter = new ProgressMeter('push', options.progress, { start: walked.started });
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
  const big: FileTask[] = [];
  const small: FileTask[] = [];
  for (const e of walked.entries) {
    const entry: TreeEntry = { path: e.path, type: e.type, mode: e.mode, mtime: e.mtime, uid: e.uid, gid: e.gid };
    if (e.target !== undefined) entry.target = e.target;
    tree.push(entry);
    const prev = e.type === 'file' ? before.get(e.path) : undefined;
    if (prev && prev.size === e.size && prev.mtime === e.mtime && packer.reuse(prev.chunks!, parentSectors)) {
      Object.assign(entry, { size: prev.size, chunks: prev.chunks });
      unchanged++;
      meter.bytes += e.size;
    } else if (e.type === 'file') {
      (e.size <= SMALL_FILE ? small : big).push({ entry, abs: e.abs, size: e.size });
      continue;
    }
    meter.files++;
  }
  const dropped = new Set<TreeEntry>();
  const tick = () => {
    meter.transferred = ctx.io.sent - sentBefore;
    meter.tick();
  };
  // Interrupted is what the push was, whatever else failed meanwhile.
  await storeFiles({ packer, chunker: ctx.chunker, meter, skipped, dropped, tick, signal: options.signal }, big, small).finally(() => _halt(options.signal));
  // A hard link whose first name could not be read has nothing to link to.
  const stored = new Set(tree.filter((e) => e.type === 'file' && !dropped.has(e)).map((e) => e.path));
  const finalTree = tree.filter((e) => !dropped.has(e) && (e.type !== 'link' || stored.has(e.target!)));
  // Data sectors first: the body names them by id, known only once sealed. Listed in
  // order of first use in the tree, so an unchanged tree gives the same body bytes.
  await packer.finish();
  const dataSectors = new Set(finalTree.flatMap((e) => (e.chunks ?? []).map((c) => c[1])));
  const body = encodeBody(finalTree, [...dataSectors].map((sid) => packer.used.get(sid)!));
  const bodyRefs = await packer.addAll(cutAll(ctx.bodyChunker, body));
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
  _halt(options.signal);
  const id = newManifestId(ctx.keys);
  const blob = encodeHeader(ctx.keys, id, header);
  const missed: string[] = [];
  const results = await Promise.allSettled(ctx.hosts.map((b) => ctx.io.put(b, id, blob)));
  results.forEach((r, i) => {
    if (r.status === 'rejected') missed.push(`${ctx.hosts[i].name}: manifest not stored: ${r.reason?.message ?? r.reason}`);
  });
  if (missed.length === results.length) throw new CloudCoinError('EUPLOAD', `no backend stored the manifest (${missed.join('; ')})`, ExitCode.failure);
  const warnings = [...(ctx.reduced ? [ctx.reduced] : []), ...missed];
  await ctx.index.putSnapshot({ id, header, tree: finalTree, sectors: [...dataSectors].map((sid) => packer.used.get(sid)!) });
  await ctx.index.putHolders(id, ctx.hosts.filter((_, i) => results[i].status === 'fulfilled').map((b) => b.name));
  // Reused sectors too: one stored at reduced redundancy by an earlier push is as much at risk.
  const below = [...packer.used.values()].filter((r) => r.shards.length < ctx.wanted).map((r) => r.id);
  await ctx.index.queueRepair(below);
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
    queued: below.length,
  };
}

/** An interrupted push writes no manifest. */
function _halt(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw interruptedError(signal, 'no snapshot written; what the hosts took is kept, and the next push does not send it again');
}
