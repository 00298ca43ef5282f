/**
 * Merkle trees over sectors, for storage proofs, and over a contract's
 * sectors, for the commitment both parties sign.
 *
 * A sector is cut into 64-byte segments; the last one is padded with zero bytes
 * to 64. Hashes are sha256 with a one-byte domain prefix so that a leaf can
 * never be passed off as an inner node (the second-preimage defence of
 * RFC 6962 / RFC 9162 §2.1.1):
 *
 *     leaf = sha256(0x00 || segment)          64 bytes, zero-padded
 *     node = sha256(0x01 || left || right)
 *
 * Levels are built pairwise from the left; an odd node out at the right end is
 * promoted to the next level unchanged. That is exactly the shape of RFC 6962's
 * recursive definition (split at the largest power of two below n), which
 * test/server-merkle.test.ts checks with a reference implementation.
 *
 * A proof for segment i lists the sibling hashes from the leaf up, skipping
 * the levels where the node on the path is promoted; the verifier needs the
 * sector's size to know that shape.
 *
 * The contract root is the same tree over one leaf per sector, the sectors
 * sorted by id, with its own leaf prefix so a sector leaf is neither a segment
 * leaf nor a node:
 *
 *     leaf = sha256(0x02 || u32le size || sectorRoot)
 *
 * and 32 zero bytes for a contract with no sectors. Sorting makes the root a
 * function of the set of sectors, so renter and host compute it from what
 * each holds with no order of uploads to agree on.
 */
import { hash } from 'node:crypto';
import { setImmediate } from 'node:timers/promises';

/** The largest sector the server stores (Sia's sector size). */
export const MAX_SECTOR_SIZE = 4 * 1024 * 1024;

/** Bytes of one Merkle leaf; storage proofs answer one segment. */
export const SEGMENT_SIZE = 64;

const HASH_SIZE = 32;

export interface MerkleProof {
  /** Which 64-byte segment is proven. */
  segmentIndex: number;
  /** The sector's size in bytes, which fixes the tree's shape. */
  sectorSize: number;
  /** The segment as stored: 64 bytes, or fewer for the last one (unpadded). */
  segment: Uint8Array;
  /** Sibling hashes, leaf level first. */
  proof: Uint8Array[];
}

/** Number of 64-byte segments (leaves) of a sector of `sectorSize` bytes. */
export function segmentCount(sectorSize: number): number {
  if (!Number.isSafeInteger(sectorSize) || sectorSize < 1 || sectorSize > MAX_SECTOR_SIZE) {
    throw new RangeError(`sectorSize must be an integer from 1 to ${MAX_SECTOR_SIZE}, got ${sectorSize}`);
  }
  return Math.ceil(sectorSize / SEGMENT_SIZE);
}

function _leafHash(segment: Uint8Array, scratch: Buffer): Buffer {
  scratch.fill(0);
  scratch[0] = 0x00;
  scratch.set(segment, 1);
  return hash('sha256', scratch, 'buffer');
}

function _nodeHash(left: Uint8Array, right: Uint8Array, scratch: Buffer): Buffer {
  scratch[0] = 0x01;
  scratch.set(left, 1);
  scratch.set(right, 1 + HASH_SIZE);
  return hash('sha256', scratch, 'buffer');
}

function _checkSector(sector: unknown): asserts sector is Uint8Array {
  if (!(sector instanceof Uint8Array)) throw new TypeError('sector must be a Uint8Array');
  segmentCount(sector.length);
}

/** Hashes computed between two pauses of the yielding variant (a few milliseconds). */
const HASHES_PER_SLICE = 4096;

/** The level of leaf hashes, packed 32 bytes each into one buffer; yields every HASHES_PER_SLICE hashes. */
function* _leaves(sector: Uint8Array): Generator<void, Buffer> {
  const n = segmentCount(sector.length);
  const level = Buffer.allocUnsafe(n * HASH_SIZE);
  const scratch = Buffer.alloc(1 + SEGMENT_SIZE);
  for (let i = 0; i < n; i++) {
    _leafHash(sector.subarray(i * SEGMENT_SIZE, (i + 1) * SEGMENT_SIZE), scratch).copy(level, i * HASH_SIZE);
    if (i % HASHES_PER_SLICE === HASHES_PER_SLICE - 1) yield;
  }
  return level;
}

/** The next level up, promoting an odd last node unchanged; yields like _leaves. */
function* _parentLevel(level: Buffer, count: number, scratch: Buffer): Generator<void, Buffer> {
  const up = Math.ceil(count / 2);
  const next = Buffer.allocUnsafe(up * HASH_SIZE);
  for (let i = 0; i < up; i++) {
    const l = 2 * i;
    if (l + 1 < count) {
      _nodeHash(level.subarray(l * HASH_SIZE, (l + 1) * HASH_SIZE), level.subarray((l + 1) * HASH_SIZE, (l + 2) * HASH_SIZE), scratch).copy(next, i * HASH_SIZE);
    } else {
      level.copy(next, i * HASH_SIZE, l * HASH_SIZE, (l + 1) * HASH_SIZE);
    }
    if (i % HASHES_PER_SLICE === HASHES_PER_SLICE - 1) yield;
  }
  return next;
}

/** Runs a yielding computation to its end without pausing. */
function _drain<T>(run: Generator<void, T>): T {
  for (;;) {
    const step = run.next();
    if (step.done) return step.value;
  }
}

/**
 * The whole computation as a generator that pauses every few thousand hashes,
 * so one implementation serves both the synchronous API and the server, which
 * must not hold its event loop for the ~0.2 s a 4 MiB sector takes.
 */
function* _prove(sector: Uint8Array, segmentIndex: number): Generator<void, { root: Uint8Array; proof: MerkleProof }> {
  _checkSector(sector);
  const n = segmentCount(sector.length);
  if (!Number.isSafeInteger(segmentIndex) || segmentIndex < 0 || segmentIndex >= n) {
    throw new RangeError(`segmentIndex must be an integer from 0 to ${n - 1}, got ${segmentIndex}`);
  }
  const scratch = Buffer.alloc(1 + 2 * HASH_SIZE);
  const path: Uint8Array[] = [];
  let level = yield* _leaves(sector);
  let count = n;
  let index = segmentIndex;
  while (count > 1) {
    const sibling = index ^ 1;
    if (sibling < count) path.push(new Uint8Array(level.subarray(sibling * HASH_SIZE, (sibling + 1) * HASH_SIZE)));
    level = yield* _parentLevel(level, count, scratch);
    count = Math.ceil(count / 2);
    index >>= 1;
  }
  const segment = sector.slice(segmentIndex * SEGMENT_SIZE, (segmentIndex + 1) * SEGMENT_SIZE);
  return {
    root: new Uint8Array(level.subarray(0, HASH_SIZE)),
    proof: { segmentIndex, sectorSize: sector.length, segment, proof: path },
  };
}

/**
 * Merkle root of a sector (1 byte to 4 MiB).
 * @example merkleRoot(new Uint8Array(4096)) // 32-byte Uint8Array
 */
export function merkleRoot(sector: Uint8Array): Uint8Array {
  return merkleProof(sector, 0).root;
}

/**
 * The proof that segment `segmentIndex` belongs to `sector`, with the root it proves against.
 * @example const { proof, root } = merkleProof(sector, 3); verifyMerkleProof(root, proof) // true
 */
export function merkleProof(sector: Uint8Array, segmentIndex: number): { root: Uint8Array; proof: MerkleProof } {
  return _drain(_prove(sector, segmentIndex));
}

/**
 * merkleProof that gives the event loop a turn every few milliseconds.
 * @example const { proof } = await merkleProofYielding(sector, 3);
 */
export async function merkleProofYielding(sector: Uint8Array, segmentIndex: number): Promise<{ root: Uint8Array; proof: MerkleProof }> {
  const run = _prove(sector, segmentIndex);
  for (;;) {
    const step = run.next();
    if (step.done) return step.value;
    await setImmediate();
  }
}

/**
 * True only if `p.segment` is segment `p.segmentIndex` of a sector of `p.sectorSize`
 * bytes whose Merkle root is `root`. Never throws on malformed input.
 */
export function verifyMerkleProof(root: Uint8Array, p: MerkleProof): boolean {
  if (!(root instanceof Uint8Array) || root.length !== HASH_SIZE || typeof p !== 'object' || p === null) return false;
  const { segmentIndex, sectorSize, segment, proof } = p;
  if (!Number.isSafeInteger(sectorSize) || sectorSize < 1 || sectorSize > MAX_SECTOR_SIZE) return false;
  const count = Math.ceil(sectorSize / SEGMENT_SIZE);
  if (!Number.isSafeInteger(segmentIndex) || segmentIndex < 0 || segmentIndex >= count) return false;
  const expectedLength = Math.min(SEGMENT_SIZE, sectorSize - segmentIndex * SEGMENT_SIZE);
  if (!(segment instanceof Uint8Array) || segment.length !== expectedLength || !Array.isArray(proof)) return false;

  const top = _climb(_leafHash(segment, Buffer.alloc(1 + SEGMENT_SIZE)), segmentIndex, count, proof);
  return top !== null && top.equals(root);
}

/**
 * The root reached from leaf `index` of a tree of `count` leaves by the
 * sibling hashes of `proof`, or null when the proof has a malformed hash or
 * is not exactly as long as that tree's shape asks.
 */
function _climb(leaf: Buffer, index: number, count: number, proof: unknown[]): Buffer | null {
  const scratch = Buffer.alloc(1 + 2 * HASH_SIZE);
  let acc = leaf;
  let used = 0;
  while (count > 1) {
    const sibling = index ^ 1;
    if (sibling < count) {
      const h = proof[used++];
      if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) return null;
      acc = index & 1 ? _nodeHash(h, acc, scratch) : _nodeHash(acc, h, scratch);
    }
    count = Math.ceil(count / 2);
    index >>= 1;
  }
  return used === proof.length ? acc : null;
}

/** A sector's place in a contract: what the contract root commits of it. */
export interface SectorLeaf {
  /** The sector id, 64 lowercase hex characters. */
  id: string;
  /** Bytes stored, 1 to MAX_SECTOR_SIZE. */
  size: number;
  /** The sector's Merkle root (merkleRoot). */
  root: Uint8Array;
}

/** The proof that one sector belongs to the contract root: its leaf and the path up. */
export interface ContractProof {
  /** The sector's position among the contract's sectors sorted by id. */
  sectorIndex: number;
  /** How many sectors the root covers, which fixes the tree's shape. */
  sectorCount: number;
  sectorSize: number;
  sectorRoot: Uint8Array;
  /** Sibling hashes, leaf level first. */
  proof: Uint8Array[];
}

const SECTOR_ID_RE = /^[0-9a-f]{64}$/;

/** The contract root of no sectors. */
export const EMPTY_CONTRACT_ROOT: Uint8Array = new Uint8Array(HASH_SIZE);

/**
 * The sectors in the order the contract tree and the challenges use: by id,
 * ascending. Throws on a malformed id or size, or an id given twice.
 */
export function sortSectors<T extends { id: string; size: number }>(sectors: readonly T[]): T[] {
  if (!Array.isArray(sectors)) throw new TypeError('sectors must be an array');
  for (const s of sectors) {
    if (typeof s?.id !== 'string' || !SECTOR_ID_RE.test(s.id)) throw new RangeError(`sector id must be 64 lowercase hex characters, got ${JSON.stringify(s?.id)}`);
    segmentCount(s.size);
  }
  const sorted = [...sectors].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].id === sorted[i - 1].id) throw new RangeError(`sector ${sorted[i].id} is listed twice`);
  }
  return sorted;
}

/** sha256(0x02 || u32le size || sectorRoot): one sector's leaf in the contract tree. */
export function sectorLeafHash(size: number, sectorRoot: Uint8Array): Buffer {
  segmentCount(size);
  if (!(sectorRoot instanceof Uint8Array) || sectorRoot.length !== HASH_SIZE) throw new RangeError(`sector root must be ${HASH_SIZE} bytes`);
  const preimage = Buffer.alloc(1 + 4 + HASH_SIZE);
  preimage[0] = 0x02;
  preimage.writeUInt32LE(size, 1);
  preimage.set(sectorRoot, 5);
  return hash('sha256', preimage, 'buffer');
}

/** The root of the contract tree and the path of leaf `index` (sectors already sorted). */
function _contractTree(sorted: readonly SectorLeaf[], index: number): { root: Uint8Array; path: Uint8Array[] } {
  let count = sorted.length;
  if (count === 0) return { root: new Uint8Array(EMPTY_CONTRACT_ROOT), path: [] };
  let level: Buffer = Buffer.allocUnsafe(count * HASH_SIZE);
  sorted.forEach((s, i) => sectorLeafHash(s.size, s.root).copy(level, i * HASH_SIZE));
  const scratch = Buffer.alloc(1 + 2 * HASH_SIZE);
  const path: Uint8Array[] = [];
  while (count > 1) {
    const sibling = index ^ 1;
    if (sibling < count) path.push(new Uint8Array(level.subarray(sibling * HASH_SIZE, (sibling + 1) * HASH_SIZE)));
    level = _drain(_parentLevel(level, count, scratch));
    count = Math.ceil(count / 2);
    index >>= 1;
  }
  return { root: new Uint8Array(level.subarray(0, HASH_SIZE)), path };
}

/**
 * The contract root over a set of sectors, in any order; 32 zero bytes for none.
 * @example contractRoot([{ id: 'ab'.repeat(32), size: 4096, root: merkleRoot(sector) }])
 */
export function contractRoot(sectors: readonly SectorLeaf[]): Uint8Array {
  return _contractTree(sortSectors(sectors), 0).root;
}

/**
 * The proof that sector `sectorId` is one of `sectors` under their contract root.
 * @example const { root, proof } = contractProof(sectors, id); verifyContractProof(root, proof) // true
 */
export function contractProof(sectors: readonly SectorLeaf[], sectorId: string): { root: Uint8Array; proof: ContractProof } {
  const sorted = sortSectors(sectors);
  const sectorIndex = sorted.findIndex((s) => s.id === sectorId);
  if (sectorIndex < 0) throw new RangeError(`sector ${JSON.stringify(sectorId)} is not in the list`);
  const { root, path } = _contractTree(sorted, sectorIndex);
  const leaf = sorted[sectorIndex];
  return {
    root,
    proof: { sectorIndex, sectorCount: sorted.length, sectorSize: leaf.size, sectorRoot: new Uint8Array(leaf.root), proof: path },
  };
}

/**
 * True only if a sector of `p.sectorSize` bytes with root `p.sectorRoot` is
 * leaf `p.sectorIndex` of `p.sectorCount` under contract root `root`. Never
 * throws on malformed input.
 */
export function verifyContractProof(root: Uint8Array, p: ContractProof): boolean {
  if (!(root instanceof Uint8Array) || root.length !== HASH_SIZE || typeof p !== 'object' || p === null) return false;
  const { sectorIndex, sectorCount, sectorSize, sectorRoot, proof } = p;
  if (!Number.isSafeInteger(sectorCount) || sectorCount < 1 || sectorCount > 0xffffffff) return false;
  if (!Number.isSafeInteger(sectorIndex) || sectorIndex < 0 || sectorIndex >= sectorCount) return false;
  if (!Number.isSafeInteger(sectorSize) || sectorSize < 1 || sectorSize > MAX_SECTOR_SIZE) return false;
  if (!(sectorRoot instanceof Uint8Array) || sectorRoot.length !== HASH_SIZE || !Array.isArray(proof)) return false;
  const top = _climb(sectorLeafHash(sectorSize, sectorRoot), sectorIndex, sectorCount, proof);
  return top !== null && top.equals(root);
}
