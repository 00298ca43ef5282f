/**
 * Pure functions over manifests: which snapshots a forget policy keeps, what
 * changed between two trees, what a tree holds under a path. No I/O here, so
 * each is tested directly.
 */
import { CloudCoinError, ExitCode } from '../errors.js';
import type { ManifestHeader, Snapshot, TreeEntry } from './manifest.js';

/** What listing shows of a snapshot: its id and the header's descriptive fields. */
export type SnapshotInfo = { id: string } & Pick<ManifestHeader, 'time' | 'hostname' | 'source' | 'tags' | 'parent' | 'files' | 'bytes'>;

export function snapshotInfo(s: Snapshot): SnapshotInfo {
  const h = s.header;
  return { id: s.id, time: h.time, hostname: h.hostname, source: h.source, tags: h.tags, parent: h.parent, files: h.files, bytes: h.bytes };
}

export interface ForgetPolicy {
  /** Keep the N newest snapshots. */
  keepLast?: number;
  /** Keep the newest snapshot of each of the N most recent days (UTC) that have one. */
  keepDaily?: number;
}

function _count(v: number | undefined, what: string): number {
  if (v === undefined) return 0;
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`${what} must be a non-negative integer, got ${v}`);
  return v;
}

/** Ids of the snapshots `policy` keeps; a policy that names no rule keeps everything. */
export function keptByPolicy(snapshots: SnapshotInfo[], policy: ForgetPolicy): Set<string> {
  const last = _count(policy.keepLast, 'keepLast');
  const daily = _count(policy.keepDaily, 'keepDaily');
  const newest = [...snapshots].sort((a, b) => b.time.localeCompare(a.time) || b.id.localeCompare(a.id));
  if (policy.keepLast === undefined && policy.keepDaily === undefined) return new Set(newest.map((s) => s.id));
  const keep = new Set(newest.slice(0, last).map((s) => s.id));
  const days = new Set<string>();
  for (const s of newest) {
    if (days.size >= daily) break;
    const day = s.time.slice(0, 10);
    if (days.has(day)) continue;
    days.add(day);
    keep.add(s.id);
  }
  return keep;
}

export type ChangeKind = 'added' | 'removed' | 'modified' | 'metadata';

export interface Change {
  path: string;
  change: ChangeKind;
}

function _sameContent(a: TreeEntry, b: TreeEntry): boolean {
  if (a.type !== b.type || a.size !== b.size || a.target !== b.target) return false;
  const ca = a.chunks ?? [];
  const cb = b.chunks ?? [];
  return ca.length === cb.length && ca.every((c, i) => c[0] === cb[i][0]);
}

/** What changed from tree `a` to tree `b`, by path, sorted. */
export function diffTrees(a: Snapshot, b: Snapshot): Change[] {
  const before = new Map(a.tree.map((e) => [e.path, e]));
  const after = new Map(b.tree.map((e) => [e.path, e]));
  const out: Change[] = [];
  for (const path of before.keys()) if (!after.has(path)) out.push({ path, change: 'removed' });
  for (const [path, e] of after) {
    const old = before.get(path);
    if (!old) out.push({ path, change: 'added' });
    else if (!_sameContent(old, e)) out.push({ path, change: 'modified' });
    else if (old.mode !== e.mode || old.mtime !== e.mtime || old.uid !== e.uid || old.gid !== e.gid) out.push({ path, change: 'metadata' });
  }
  return out.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
}

/** A tree entry without its chunk list, as `ls` shows it. */
export type ListEntry = Omit<TreeEntry, 'chunks'>;

/** Entries at or below `path` ('' or undefined: the whole tree). */
export function listTree(m: Snapshot, path?: string): ListEntry[] {
  const p = (path ?? '').replace(/^\.?\/+|\/+$/g, '');
  const out = m.tree.filter((e) => p === '' || e.path === p || e.path.startsWith(`${p}/`)).map(({ chunks: _chunks, ...rest }) => rest);
  // As ls(1) says of a name it cannot find: an empty listing would read as an empty directory.
  if (out.length === 0 && p !== '') throw new CloudCoinError('ENOPATH', `no ${JSON.stringify(p)} in snapshot ${m.id.slice(0, 16)}`, ExitCode.usage);
  return out;
}
