/**
 * Health and repair: which shards of each sector are still where its record
 * says, and rebuilding the others onto hosts that hold none of the sector.
 *
 * A shard counts as present when its host listed it, is contracted, and is
 * not marked bad (failed proofs). It is lost, to be rebuilt, when its host is
 * not contracted any more, is marked bad, answered without it, or has not
 * answered for longer than `repairAfter` seconds (the local index remembers
 * since when). A host that has failed for less is waited for: its shards are
 * not present, but not rebuilt yet either.
 *
 * Repair takes any k present shards of a sector, decodes the data shards and
 * encodes the sector's shards again (Reed-Solomon over ciphertext: no key is
 * needed, and each rebuilt shard has the bytes, so the id, it had), uploads
 * the lost ones, and the spare ones a push at reduced redundancy left out, to
 * hosts holding no shard of that sector, then records the new placement on
 * every host (placement.ts) and in the local index.
 */
import { CloudCoinError, ExitCode, interruptedError } from '../errors.js';
import type { Backend } from './backend.js';
import { dataShards, encodeShards } from './erasure.js';
import type { StoreKeys } from './keys.js';
import type { Listing } from './listing.js';
import type { LocalIndex } from './localindex.js';
import type { Snapshot } from './manifest.js';
import { type Placement, PLACEMENT_VERSION, encodePlacement, newPlacementId } from './placement.js';
import { type Redundancy, wantedShards } from './redundancy.js';
import { type SectorRecord, shardId } from './sector.js';
import type { ShardIO } from './shards.js';

export interface HealthOptions {
  /** Seconds a host may fail to answer before its shards are rebuilt elsewhere (the policy's repairAfter; default 3600). */
  repairAfter?: number;
  /** Hosts whose shards count as lost, e.g. those that failed storage proofs. */
  bad?: Iterable<string>;
}

export interface RepairOptions extends HealthOptions {
  /** Sectors rebuilt at once (default 4), each ~4 MiB of shards in and out. */
  parallel?: number;
  /** Stops before the next batch of sectors; what was rebuilt is recorded (interruptedError). */
  signal?: AbortSignal;
}

/** A host as health and repair see it. */
export interface HostHealth {
  backend: string;
  /** It listed what it holds. */
  up: boolean;
  bad: boolean;
  /** When it first failed to answer, since it last did (ISO 8601); null when up. */
  downSince: string | null;
  /** Down for longer than repairAfter: its shards are rebuilt elsewhere. */
  givenUp: boolean;
}

export interface HealthFigures {
  /** Shards present over shards wanted, summed over sectors, in percent (100 with no sectors). */
  health: number;
  sectors: number;
  /** Sectors with fewer shards present than wanted. */
  belowN: number;
  /** Sectors with fewer than k present: unreadable now. */
  belowK: number;
}

export interface SnapshotHealth extends HealthFigures {
  id: string;
  time: string;
  source: string;
}

export interface StatusResult {
  snapshots: SnapshotHealth[];
  overall: HealthFigures;
  hosts: HostHealth[];
  /** Sectors pushes stored below their wanted shard count and repair has not seen to yet. */
  queued: number;
  /** Manifests listed but not readable. */
  unreadable: string[];
}

export interface RepairResult {
  /** Sectors looked at. */
  sectors: number;
  /** Sectors that got shards rebuilt. */
  repaired: number;
  /** Shards rebuilt and uploaded, and their bytes. */
  shards: number;
  /** Manifests and placements copied to usable hosts that lacked them. */
  copied: number;
  bytes: number;
  seconds: number;
  /** Sectors still below their wanted shard count (hosts waited for, or too few hosts to place on). */
  belowN: string[];
  /** Sectors with fewer than k shards to rebuild from. */
  lost: string[];
  hosts: HostHealth[];
  /** Uploads that failed (the shard stays lost until the next repair). */
  warnings: string[];
}

/** What each host listed, and which of them count. */
export class HostSurvey {
  readonly hosts: HostHealth[];
  /** Hosts to place rebuilt shards on: up and not bad. */
  readonly usable: Backend[];
  private readonly _held = new Map<string, Set<string>>();
  private readonly _state = new Map<string, HostHealth>();

  private constructor(hosts: HostHealth[], held: Map<string, Set<string>>, backends: Backend[]) {
    this.hosts = hosts;
    this._held = held;
    for (const h of hosts) this._state.set(h.backend, h);
    this.usable = backends.filter((b) => this._state.get(b.name)!.up && !this._state.get(b.name)!.bad);
  }

  /** Notes in the index which hosts answered the listing, and when the others first failed. */
  static async take(backends: Backend[], listing: Listing, index: LocalIndex, o: HealthOptions, now = Date.now()): Promise<HostSurvey> {
    const after = (o.repairAfter ?? 3600) * 1000;
    const bad = new Set(o.bad ?? []);
    const held = new Map<string, Set<string>>();
    for (const [name, ids] of listing) if (ids) held.set(name, new Set(ids));
    const since = await index.noteAnswers([...held.keys()], listing.filter(([, ids]) => ids === null).map(([name]) => name), now);
    const hosts = backends.map((b): HostHealth => {
      const failed = since.get(b.name);
      return { backend: b.name, up: held.has(b.name), bad: bad.has(b.name), downSince: failed === undefined ? null : new Date(failed).toISOString(), givenUp: failed !== undefined && now - failed >= after };
    });
    return new HostSurvey(hosts, held, backends);
  }

  /** Notes a shard repair stored, so the sector's health counts it. */
  stored(backend: string, id: string): void {
    this._held.get(backend)?.add(id);
  }

  /** Indexes of a sector's shards that are present, waited for (host failing, not yet for long) and lost. */
  classify(rec: SectorRecord): { present: number[]; waiting: number[]; lost: number[] } {
    const out = { present: [] as number[], waiting: [] as number[], lost: [] as number[] };
    rec.shards.forEach(([id, name], i) => {
      const h = this._state.get(name);
      if (!h || h.bad || h.givenUp) out.lost.push(i);
      else if (!h.up) out.waiting.push(i);
      else (this._held.get(name)!.has(id) ? out.present : out.lost).push(i);
    });
    return out;
  }
}

/** Every sector the snapshots use, once. */
export function sectorsOf(snapshots: Iterable<Snapshot>): Map<string, SectorRecord> {
  const out = new Map<string, SectorRecord>();
  for (const s of snapshots) for (const rec of [...s.header.sectors, ...s.sectors]) out.set(rec.id, rec);
  return out;
}

function _figures(recs: Iterable<SectorRecord>, survey: HostSurvey, policy: Redundancy, contracted: number): HealthFigures {
  let present = 0;
  let wanted = 0;
  const f: HealthFigures = { health: 100, sectors: 0, belowN: 0, belowK: 0 };
  for (const rec of recs) {
    const want = wantedShards(policy, rec.k, contracted);
    const have = survey.classify(rec).present.length;
    f.sectors++;
    present += Math.min(have, want);
    wanted += want;
    if (have < want) f.belowN++;
    if (have < rec.k) f.belowK++;
  }
  if (wanted > 0) f.health = Math.floor((1000 * present) / wanted) / 10;
  return f;
}

/** Each snapshot's health and the whole store's, from listings only: no shard is downloaded. */
export function status(snapshots: Snapshot[], survey: HostSurvey, policy: Redundancy, contracted: number): Omit<StatusResult, 'queued' | 'unreadable'> {
  const sorted = [...snapshots].sort((a, b) => a.header.time.localeCompare(b.header.time) || a.id.localeCompare(b.id));
  return {
    snapshots: sorted.map((s) => ({ id: s.id, time: s.header.time, source: s.header.source, ..._figures(sectorsOf([s]).values(), survey, policy, contracted) })),
    overall: _figures(sectorsOf(snapshots).values(), survey, policy, contracted),
    hosts: survey.hosts,
  };
}

export interface RepairContext {
  keys: StoreKeys;
  io: ShardIO;
  index: LocalIndex;
  policy: Redundancy;
  /** Records the new placements in the store's view of the sectors, once they are on the hosts. */
  moved(placements: Map<string, Placement>): Promise<void>;
}

/** Sectors repaired between placement writes: an interrupted repair keeps what it recorded. */
const _BATCH = 128;

/** Rebuilds what `survey` says is lost or missing, sector by sector, and records the new placements. */
export async function repair(ctx: RepairContext, sectors: SectorRecord[], survey: HostSurvey, o: RepairOptions = {}): Promise<RepairResult> {
  const started = performance.now();
  const contracted = ctx.io.backends.length;
  const res: RepairResult = { sectors: sectors.length, repaired: 0, shards: 0, copied: 0, bytes: 0, seconds: 0, belowN: [], lost: [], hosts: survey.hosts, warnings: [] };
  const healthy: string[] = [];
  const parallel = o.parallel ?? 4;
  for (let at = 0; at < sectors.length; at += _BATCH) {
    if (o.signal?.aborted) throw interruptedError(o.signal, `${res.repaired} sectors repaired and recorded; repair again to finish`);
    const batch = sectors.slice(at, at + _BATCH);
    const changed: SectorRecord[] = [];
    for (let i = 0; i < batch.length; i += parallel) {
      await Promise.all(
        batch.slice(i, i + parallel).map(async (rec) => {
          const wanted = wantedShards(ctx.policy, rec.k, contracted);
          const after = await _one(ctx, rec, survey, wanted, res);
          if (after !== rec) changed.push(after);
          const have = survey.classify(after).present.length;
          if (have < rec.k) res.lost.push(rec.id);
          else if (have < wanted) res.belowN.push(rec.id);
          else healthy.push(rec.id);
        }),
      );
    }
    if (changed.length > 0) await _record(ctx, survey, changed);
  }
  await ctx.index.dropRepairQueue(healthy);
  res.seconds = (performance.now() - started) / 1000;
  return res;
}

/** One sector: the record it has after its lost shards are rebuilt (the same object when nothing was). */
async function _one(ctx: RepairContext, rec: SectorRecord, survey: HostSurvey, wanted: number, res: RepairResult): Promise<SectorRecord> {
  const { present, waiting, lost } = survey.classify(rec);
  const short = wanted - present.length - waiting.length;
  if (short <= 0 || present.length < rec.k) return rec;
  // Lost shards first (the records name them), then the spare ones a reduced push left out.
  const slots = [...lost, ...Array.from({ length: Math.max(0, wanted - rec.shards.length) }, (_, i) => rec.shards.length + i)].slice(0, short);
  // Every host the record names keeps its place, but those whose shards are rebuilt now: one host, one shard of a sector.
  const rebuilt = new Set(slots);
  const keep = new Set(rec.shards.filter((_, i) => !rebuilt.has(i)).map((s) => s[1]));
  const free = survey.usable.filter((b) => !keep.has(b.name));
  const rot = free.length === 0 ? 0 : parseInt(rec.id.slice(0, 8), 16) % free.length;
  const targets = [...free.slice(rot), ...free.slice(0, rot)].slice(0, slots.length);
  if (targets.length === 0) return rec;
  let got: (Uint8Array | null)[];
  try {
    got = await ctx.io.getShards(rec, { skip: new Set([...waiting, ...lost]) });
  } catch (err: any) {
    if (!(err instanceof CloudCoinError)) throw err;
    res.warnings.push(err.message);
    return rec;
  }
  const width = Math.max(rec.shards.length, ...slots.slice(0, targets.length).map((s) => s + 1));
  const all = encodeShards(dataShards(got, rec.k, rec.size), rec.k, width);
  const ids = targets.map((_, j) => shardId(all[slots[j]]));
  // Shards checked against their ids decode deterministically: a mismatch is a record that does not fit its sector.
  const wrong = targets.findIndex((_, j) => slots[j] < rec.shards.length && ids[j] !== rec.shards[slots[j]][0]);
  if (wrong >= 0) {
    res.warnings.push(`sector ${rec.id.slice(0, 16)}: shard ${slots[wrong]} rebuilds to ${ids[wrong].slice(0, 16)}, its record says ${rec.shards[slots[wrong]][0].slice(0, 16)}; left as it is`);
    return rec;
  }
  const done = new Map<number, [string, string]>();
  const uploads = targets.map(async (target, j) => {
    const slot = slots[j];
    const id = ids[j];
    try {
      await ctx.io.put(target, id, all[slot], id);
    } catch (err: any) {
      res.warnings.push(`${target.name}: shard ${slot} of sector ${rec.id.slice(0, 16)} not stored: ${err.message}`);
      return;
    }
    done.set(slot, [id, target.name]);
    survey.stored(target.name, id);
    res.shards++;
    res.bytes += all[slot].length;
  });
  await Promise.all(uploads);
  if (done.size === 0) return rec;
  const shards = rec.shards.map((s, i) => done.get(i) ?? s);
  // The record lists shards 0..n-1: a spare slot past a failed one waits for the next repair.
  while (done.has(shards.length)) shards.push(done.get(shards.length)!);
  res.repaired++;
  return { ...rec, shards };
}

/** Writes one placement of `changed` to every usable host, then to the index. */
async function _record(ctx: RepairContext, survey: HostSurvey, changed: SectorRecord[]): Promise<void> {
  const id = newPlacementId(ctx.keys);
  const p: Placement = { version: PLACEMENT_VERSION, time: new Date().toISOString(), sectors: changed };
  const blob = encodePlacement(ctx.keys, id, p);
  const results = await Promise.allSettled(survey.usable.map((b) => ctx.io.put(b, id, blob)));
  if (!results.some((r) => r.status === 'fulfilled')) {
    const why = results.map((r, i) => `${survey.usable[i].name}: ${r.status === 'rejected' ? (r.reason?.message ?? r.reason) : 'ok'}`);
    throw new CloudCoinError('EUPLOAD', `no host stored the placement of ${changed.length} repaired sectors (${why.join('; ')})`, ExitCode.failure);
  }
  await ctx.moved(new Map([[id, p]]));
}

/**
 * Copies each of `ids` (manifests, placements: small, and needed to read
 * anything) from a host that lists it to every usable host that does not, so
 * they are on as many hosts as the shards they lead to. Returns the copies made.
 */
export async function spread(io: ShardIO, listing: Listing, ids: Iterable<string>, survey: HostSurvey, warnings: string[]): Promise<number> {
  const holders = new Map<string, string[]>();
  const wanted = new Set(ids);
  for (const [name, listed] of listing) for (const id of listed ?? []) if (wanted.has(id)) holders.set(id, [...(holders.get(id) ?? []), name]);
  let copied = 0;
  for (const [id, names] of holders) {
    const lacking = survey.usable.filter((b) => !names.includes(b.name));
    if (lacking.length === 0) continue;
    let blob: Uint8Array | undefined;
    for (const name of names) {
      blob = await io.backend(name)?.get(id).catch(() => undefined);
      if (blob) break;
    }
    if (!blob) continue;
    const results = await Promise.allSettled(lacking.map((b) => io.put(b, id, blob)));
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') copied++;
      else warnings.push(`${lacking[i].name}: ${id.slice(0, 16)} not copied: ${r.reason?.message ?? r.reason}`);
    });
  }
  return copied;
}
