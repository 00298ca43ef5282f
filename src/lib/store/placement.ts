/**
 * Placement objects: where repair put a sector's shards. A manifest records
 * each sector's shards as they were when pushed, and a manifest is never
 * rewritten (its body is chunked into sectors of its own); when repair
 * rebuilds shards onto other hosts, it stores the sectors' new records in a
 * small encrypted object beside the manifests, on every host, as restic keeps
 * index files beside its snapshots. Whoever lists the hosts with the key reads
 * them and lets the newest record of each sector win over the manifests'.
 *
 *   id   = r (16 random bytes) || HMAC-SHA256(idsKey, "placement" || r)[0..16]
 *   blob = "CCP1" (4) || nonce (24) || XChaCha20-Poly1305(manifestKey, nonce, utf8 JSON, aad = "CCP1" || id)
 *
 * A rebuilt shard has the bytes it had, so its id does not change: only the
 * backend beside it does, and shards past the old count are new ones. See
 * docs/format.md, "Placements".
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { CloudCoinError, ExitCode } from '../errors.js';
import { NONCE_SIZE, TAG_SIZE, open, randomNonce, seal } from './aead.js';
import type { StoreKeys } from './keys.js';
import type { Snapshot } from './manifest.js';
import type { SectorRecord } from './sector.js';

const _MAGIC = Buffer.from('CCP1');
export const PLACEMENT_VERSION = 1;

export interface Placement {
  version: typeof PLACEMENT_VERSION;
  /** ISO 8601 time of the repair: among placements naming one sector, the latest wins. */
  time: string;
  /** Each repaired sector's whole record, as it is after the repair. */
  sectors: SectorRecord[];
}

/** The record each sector has after every placement, and the placement it came from. */
export type Relocations = Map<string, { rec: SectorRecord; from: string }>;

function _tag(keys: StoreKeys, r: Uint8Array): Buffer {
  return createHmac('sha256', keys.ids).update('placement').update(r).digest().subarray(0, 16);
}

export function newPlacementId(keys: StoreKeys): string {
  const r = randomBytes(16);
  return Buffer.concat([r, _tag(keys, r)]).toString('hex');
}

/** Whether `id` is a placement id made under these keys. */
export function isPlacementId(keys: StoreKeys, id: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(id)) return false;
  const b = Buffer.from(id, 'hex');
  return timingSafeEqual(b.subarray(16), _tag(keys, b.subarray(0, 16)));
}

const _aad = (id: string) => Buffer.concat([_MAGIC, Buffer.from(id, 'hex')]);

const _fail = (id: string, why: string): never => {
  throw new CloudCoinError('EPLACEMENT', `placement ${id.slice(0, 8)}: ${why}`, ExitCode.failure);
};

/** Encrypts a placement for storage under `id`; `nonce` is for golden vectors only. */
export function encodePlacement(keys: StoreKeys, id: string, p: Placement, nonce: Uint8Array = randomNonce()): Buffer {
  _validate(p, id);
  return Buffer.concat([_MAGIC, nonce, seal(keys.manifest, nonce, Buffer.from(JSON.stringify(p), 'utf8'), _aad(id))]);
}

/** Decrypts and validates a placement fetched under `id`; CloudCoinError EPLACEMENT when it is not one. */
export function decodePlacement(keys: StoreKeys, id: string, blob: Uint8Array): Placement {
  if (blob.length < _MAGIC.length + NONCE_SIZE + TAG_SIZE || !Buffer.from(blob.subarray(0, 4)).equals(_MAGIC)) _fail(id, 'not a placement');
  const plain = open(keys.manifest, blob.subarray(4, 4 + NONCE_SIZE), blob.subarray(4 + NONCE_SIZE), _aad(id));
  if (!plain) return _fail(id, 'does not decrypt (corrupt, or another key)');
  let p: unknown;
  try {
    p = JSON.parse(plain.toString('utf8'));
  } catch {
    _fail(id, 'is not JSON');
  }
  _validate(p, id);
  return p;
}

const _ID = /^[0-9a-f]{64}$/;
const _SECTOR_ID = /^[0-9a-f]{32}$/;

function _validate(p: any, id: string): asserts p is Placement {
  if (!p || typeof p !== 'object' || p.version !== PLACEMENT_VERSION) _fail(id, `unsupported version ${p?.version}`);
  if (typeof p.time !== 'string' || Number.isNaN(Date.parse(p.time))) _fail(id, 'bad time');
  if (!Array.isArray(p.sectors)) _fail(id, 'lacks sectors');
  for (const s of p.sectors) {
    const ok = s && _SECTOR_ID.test(s.id) && Number.isSafeInteger(s.size) && s.size > 0 && Number.isSafeInteger(s.k) && s.k > 0 &&
      Array.isArray(s.shards) && s.shards.length >= s.k && s.shards.every((x: any) => Array.isArray(x) && _ID.test(x[0]) && typeof x[1] === 'string');
    if (!ok) _fail(id, `bad sector record ${JSON.stringify(s?.id)}`);
  }
}

/** Every sector's winning record over `placements` (by id): the latest time wins, then the greater id. */
export function relocations(placements: Map<string, Placement>): Relocations {
  const order = [...placements].sort(([a, pa], [b, pb]) => pa.time.localeCompare(pb.time) || a.localeCompare(b));
  const out: Relocations = new Map();
  for (const [from, p] of order) for (const rec of p.sectors) out.set(rec.id, { rec, from });
  return out;
}

/** The placements that still win some sector in `live` (the others are superseded or dead, and prune deletes them). */
export function livePlacements(moved: Relocations, live: Set<string>): Set<string> {
  const out = new Set<string>();
  for (const [sid, { from }] of moved) if (live.has(sid)) out.add(from);
  return out;
}

/** A sector's record with repairs applied. */
export function relocated(rec: SectorRecord, moved: Relocations): SectorRecord {
  return moved.get(rec.id)?.rec ?? rec;
}

/** A snapshot whose sector records follow the repairs (the same object when none touched it). */
export function relocateSnapshot(snap: Snapshot, moved: Relocations): Snapshot {
  if (moved.size === 0) return snap;
  const touched = (rs: SectorRecord[]) => rs.some((r) => moved.has(r.id));
  if (!touched(snap.sectors) && !touched(snap.header.sectors)) return snap;
  return {
    ...snap,
    header: { ...snap.header, sectors: snap.header.sectors.map((r) => relocated(r, moved)) },
    sectors: snap.sectors.map((r) => relocated(r, moved)),
  };
}
