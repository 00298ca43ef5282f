/**
 * prune and check: the operations that look at everything on the backends.
 * Both start from the full set of readable manifests; prune refuses to run
 * unless every backend answered and every manifest decrypted, since deleting
 * on partial knowledge could delete data a snapshot still needs.
 */
import { CloudCoinError, ExitCode, interruptedError } from '../errors.js';
import { type Backend, BackendError } from './backend.js';
import type { StoreKeys } from './keys.js';
import type { LocalIndex } from './localindex.js';
import type { HiddenSnapshot } from './listing.js';
import type { Snapshot } from './manifest.js';
import { type SectorRecord, openShards } from './sector.js';
import type { CorruptReport, ShardIO } from './shards.js';

/** Every snapshot the backends hold, as far as they could be read. */
export interface Catalog {
  snapshots: Map<string, Snapshot>;
  /** Manifest ids listed but not readable from any backend, with the reason. */
  unreadable: string[];
  /** Backends that could not list. */
  unavailable: string[];
  /** Snapshots seen before that no backend lists. */
  hidden: HiddenSnapshot[];
  /** Placements (placement.ts) that still say where some snapshot's sector is: prune keeps them. */
  placements: string[];
}

export interface PruneResult {
  /** Objects deleted from backends (shards and stray objects). */
  deleted: number;
  /** Of those, shard copies left on a backend after repair placed the shard on another (docs/store.md, "Health, status and repair"). */
  superseded: number;
  /** Sectors dropped from the local index. */
  sectors: number;
  /** Hidden snapshots the local index stopped remembering (forgetHidden). */
  forgotten: string[];
}

/** What sampling one shard on one backend showed. */
export interface ShardSample {
  /** missing: the backend does not hold it; corrupt: a root or proof that does not match. */
  state: 'ok' | 'missing' | 'corrupt';
  /** False for a shard stored after the backend's latest commitment: checked against the roots the backend serves. */
  committed: boolean;
  /** Segments proven, and the bytes they carried. */
  segments: number;
  bytes: number;
  /** Why it is corrupt. */
  reason?: string;
}

/**
 * Checks a backend's shards by proofs of a few random segments instead of
 * reading them (docs/store.md, "Checking"). The engine knows nothing of
 * contracts: the CLI gives one a host, built on its contract's commitment.
 * Throws BackendError 'unavailable' when the backend cannot answer.
 */
export interface ShardVerifier {
  sample(shardId: string, segments: number): Promise<ShardSample>;
}

export interface CheckOptions {
  /** Download every shard and decrypt every sector instead of sampling. */
  readData?: boolean;
  /** Verifiers by backend name; a backend without one is asked whether it holds each shard. */
  verifiers?: Map<string, ShardVerifier>;
  /** Segments sampled a shard (default DEFAULT_SAMPLE). */
  sample?: number;
  /** Sectors checked at once (default 4). */
  parallel?: number;
  signal?: AbortSignal;
}

/**
 * Segments sampled a shard. One finds every shard a host lost or cannot prove
 * at all; a host that kept half of each of n shards escapes with probability
 * 2^-n. Each proof costs the host a read and hash of the whole shard (~0.2 s
 * for 4 MiB), and a file server allows a key 2 a second: more is --sample's.
 */
export const DEFAULT_SAMPLE = 1;

export interface CheckResult {
  snapshots: number;
  sectors: number;
  shards: number;
  /** Shards a backend does not hold. */
  missing: { backend: string; shard: string }[];
  /** Shards returned with wrong bytes, or whose root or segment proofs do not match, with the reason where one is known. */
  corrupt: (CorruptReport & { reason?: string })[];
  /** Shards a verifier found in no commitment of their backend yet (checked against the roots it serves). */
  uncommitted: { backend: string; shard: string }[];
  /** What sampling proved: segments and their bytes (zero with readData). */
  sampled: { segments: number; bytes: number };
  /** Backends that could not answer, with the reason. */
  unavailable: string[];
  /** Backends that could not answer but hold nothing a snapshot needs: repair placed their shards elsewhere. Not a problem. */
  retired: string[];
  /** Sectors that cannot be rebuilt and decrypted. */
  unreadable: string[];
  ok: boolean;
}

/** Every sector the snapshots need: those of their bodies and those their trees use. */
function _sectors(snapshots: Iterable<Snapshot>): Map<string, SectorRecord> {
  const out = new Map<string, SectorRecord>();
  for (const snap of snapshots) for (const s of [...snap.header.sectors, ...snap.sectors]) out.set(s.id, s);
  return out;
}

async function _listed(b: Backend): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const id of b.list()) ids.add(id);
  return ids;
}

/** Each shard id the snapshots use, with every backend their records (after repairs) place it on. */
function _homes(snapshots: Iterable<Snapshot>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const snap of snapshots) {
    for (const rec of [...snap.header.sectors, ...snap.sectors]) {
      for (const [id, name] of rec.shards) {
        const at = out.get(id);
        if (at) at.add(name);
        else out.set(id, new Set([name]));
      }
    }
  }
  return out;
}

/**
 * By backend, the shards it lists that a snapshot needs on other backends
 * only: a rebuilt shard keeps its id, so the copy a host that was gone
 * still holds looks referenced. It is superseded only when every backend
 * the records name for it listed it: a copy whose new home lost it may be
 * the last of those bytes, and stays.
 */
function _superseded(snapshots: Iterable<Snapshot>, listed: Map<string, Set<string>>): Map<string, Set<string>> {
  const homes = _homes(snapshots);
  const out = new Map<string, Set<string>>();
  for (const [name, ids] of listed) {
    const left = new Set<string>();
    for (const id of ids) {
      const at = homes.get(id);
      if (at && !at.has(name) && [...at].every((home) => listed.get(home)?.has(id))) left.add(id);
    }
    out.set(name, left);
  }
  return out;
}

/**
 * Backends that could not list and that no sector record names: whatever
 * they held, repair has placed elsewhere. None while a snapshot or placement
 * is unreadable or a snapshot seen before is hidden, since those may name them.
 */
function _retired(catalog: Catalog): string[] {
  if (catalog.unreadable.length > 0 || catalog.hidden.length > 0) return [];
  const named = new Set([..._homes(catalog.snapshots.values()).values()].flatMap((at) => [...at]));
  return catalog.unavailable.filter((name) => !named.has(name));
}

/**
 * Deletes from the local index, then from the backends, everything no
 * snapshot in `catalog` needs, and the shard copies repair has superseded
 * (_superseded). Refuses while a snapshot seen before is
 * hidden, the data it needs looking unused, unless `forgetHidden` lets go of
 * it. Once `signal` is aborted no more is deleted, and it throws interruptedError.
 */
export async function prune(io: ShardIO, index: LocalIndex, catalog: Catalog, { signal, forgetHidden = false }: { signal?: AbortSignal; forgetHidden?: boolean } = {}): Promise<PruneResult> {
  if (catalog.unavailable.length > 0 || catalog.unreadable.length > 0) {
    const why = [...catalog.unavailable.map((b) => `backend ${b} unavailable`), ...catalog.unreadable.map((m) => `manifest ${m.slice(0, 8)} unreadable`)];
    throw new CloudCoinError('EPRUNEUNSAFE', `prune needs every backend and manifest: ${why.join('; ')}`, ExitCode.partial);
  }
  const forgotten = catalog.hidden.map((h) => h.id);
  if (forgotten.length > 0 && !forgetHidden) {
    const ids = forgotten.map((id) => id.slice(0, 16)).join(', ');
    throw new CloudCoinError('EHIDDEN', `prune refused: ${forgotten.length} snapshot(s) seen before are listed by no host (${ids}) and would lose their data; --forget-hidden prunes anyway`, ExitCode.failure);
  }
  await index.forgetSeen(forgotten);
  const live = _sectors(catalog.snapshots.values());
  const keep = new Set<string>([...catalog.snapshots.keys(), ...catalog.placements]);
  for (const s of live.values()) for (const [shard] of s.shards) keep.add(shard);
  // The local index forgets first: a prune that stops half way (a host failing, kill -9)
  // must not leave it pointing a later push at chunks whose shards are gone. What it
  // leaves on the hosts is garbage the next prune deletes.
  const dead = new Set((await index.sectorIds()).filter((id) => !live.has(id)));
  await index.dropSectors(dead);
  await index.dropAcks((await index.acks()).map(([id]) => id).filter((id) => !keep.has(id)));
  const listed = new Map(await Promise.all(io.backends.map(async (b) => [b.name, await _listed(b)] as const)));
  const superseded = _superseded(catalog.snapshots.values(), listed);
  let deleted = 0;
  let copies = 0;
  await Promise.all(
    io.backends.map(async (b) => {
      const left = superseded.get(b.name)!;
      for (const id of listed.get(b.name)!) {
        if (keep.has(id) && !left.has(id)) continue;
        if (signal?.aborted) return;
        await b.delete(id);
        deleted++;
        if (left.has(id)) copies++;
      }
    }),
  );
  if (signal?.aborted) throw interruptedError(signal, `objects deleted: ${deleted}; the local index is updated; prune again to finish`);
  return { deleted, superseded: copies, sectors: dead.size, forgotten };
}

/**
 * Checks that every shard of every snapshot is on its backend, sampled with
 * segment proofs where a verifier is given; with `readData`, downloads every
 * shard, verifies its hash, and decrypts every sector.
 */
export async function check(keys: StoreKeys, io: ShardIO, catalog: Catalog, { readData = false, verifiers, sample = DEFAULT_SAMPLE, parallel = 4, signal }: CheckOptions = {}): Promise<CheckResult> {
  const sectors = [..._sectors(catalog.snapshots.values()).values()];
  const retired = _retired(catalog);
  const unlisted = new Set(catalog.unavailable);
  const res: CheckResult = {
    snapshots: catalog.snapshots.size,
    sectors: sectors.length,
    shards: 0,
    missing: [],
    corrupt: [],
    uncommitted: [],
    sampled: { segments: 0, bytes: 0 },
    unavailable: catalog.unavailable.filter((name) => !retired.includes(name)),
    retired,
    unreadable: [...catalog.unreadable],
    ok: false,
  };
  const one = async (rec: SectorRecord) => {
    const got: (Uint8Array | null)[] = await Promise.all(
      rec.shards.map(async ([id, name]) => {
        res.shards++;
        const b = io.backend(name);
        if (!b) {
          res.unavailable.push(`${name}: not configured`);
          return null;
        }
        // Already unavailable: asking it for each shard only waits on it again, as long as a verifier's retries last.
        if (unlisted.has(name)) return null;
        try {
          if (readData) return await io.getShard(b, id);
          const verifier = verifiers?.get(name);
          if (verifier) _noteSample(res, name, id, await verifier.sample(id, sample));
          else if (!(await b.has(id))) res.missing.push({ backend: name, shard: id });
        } catch (err) {
          if (!(err instanceof BackendError)) throw err;
          if (err.kind === 'not-found') res.missing.push({ backend: name, shard: id });
          else if (err.kind === 'corrupt') res.corrupt.push({ backend: name, shard: id });
          else res.unavailable.push(err.message);
        }
        return null;
      }),
    );
    if (!readData) return;
    try {
      if (got.filter(Boolean).length < rec.k) throw new Error('too few shards');
      openShards(keys, rec.id, got, rec.k, rec.size);
    } catch {
      res.unreadable.push(rec.id);
    }
  };
  for (let i = 0; i < sectors.length; i += parallel) {
    if (signal?.aborted) throw interruptedError(signal, `${i} of ${sectors.length} sectors checked, nothing changed`);
    await Promise.all(sectors.slice(i, i + parallel).map(one));
  }
  res.ok = [res.missing, res.corrupt, res.unavailable, res.unreadable].every((l) => l.length === 0);
  return res;
}

function _noteSample(res: CheckResult, backend: string, shard: string, s: ShardSample): void {
  res.sampled.segments += s.segments;
  res.sampled.bytes += s.bytes;
  if (!s.committed) res.uncommitted.push({ backend, shard });
  if (s.state === 'missing') res.missing.push({ backend, shard });
  else if (s.state === 'corrupt') res.corrupt.push({ backend, shard, reason: s.reason });
}
