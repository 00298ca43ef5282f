/**
 * Proof windows and the challenge of each (docs/protocol.md §9).
 *
 * A contract of `duration` blocks from `startHeight` is cut into
 * W = ceil(duration / P) windows of P blocks (P = proofWindowOf(network)).
 * Window w opens at startHeight + w*P and closes P blocks later; the last one
 * may reach past the contract's end, never past its refund height (P <= 144).
 *
 * What a window asks is fixed by the hash of the block at its opening height,
 * which neither party knows in advance:
 *
 *   seed = sha256("cloudcoin/challenge" || 0x00 || blockHash || contractId || u32le w)
 *   sectorIndex  = u64le(seed[0..8])  mod n            (sectors sorted by id)
 *   segmentIndex = u64le(seed[8..16]) mod segmentCount(size of that sector)
 *
 * The modulo bias is below n / 2^64: no host can favour a sector by it.
 * With no sectors committed (n = 0) the window asks only that the host answer.
 */
import { createHash } from 'node:crypto';
import { segmentCount, sortSectors } from '../crypto/merkle.js';

const CHALLENGE_DOMAIN = 'cloudcoin/challenge';
const HASH_SIZE = 32;

function _height(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${what} must be a non-negative integer, got ${value}`);
  return value;
}

/** The proof windows of one contract. */
export class ProofWindows {
  readonly startHeight: number;
  readonly duration: number;
  /** Blocks per window (P). */
  readonly proofWindow: number;
  /** Number of windows (W). */
  readonly count: number;

  constructor(contract: { startHeight: number; duration: number }, proofWindow: number) {
    this.startHeight = _height(contract.startHeight, 'startHeight');
    this.duration = _height(contract.duration, 'duration');
    if (this.duration < 1) throw new RangeError('duration must be at least 1 block');
    if (!Number.isSafeInteger(proofWindow) || proofWindow < 1) throw new RangeError(`proofWindow must be a positive integer, got ${proofWindow}`);
    this.proofWindow = proofWindow;
    this.count = Math.ceil(this.duration / proofWindow);
  }

  private _window(w: number): number {
    if (!Number.isSafeInteger(w) || w < 0 || w >= this.count) throw new RangeError(`window must be an integer from 0 to ${this.count - 1}, got ${w}`);
    return w;
  }

  /** Height of the block whose hash sets window w's challenge; the window opens there. */
  opensAt(w: number): number {
    return this.startHeight + this._window(w) * this.proofWindow;
  }

  /** First height past window w. */
  closesAt(w: number): number {
    return this.opensAt(w) + this.proofWindow;
  }

  /** The window `height` is in, or null before the first opens and after the last closes. */
  windowAt(height: number): number | null {
    _height(height, 'height');
    if (height < this.startHeight) return null;
    const w = Math.floor((height - this.startHeight) / this.proofWindow);
    return w < this.count ? w : null;
  }

  /** How many windows have opened once the tip is at `height` (0 to count). */
  openedBy(height: number): number {
    _height(height, 'height');
    if (height < this.startHeight) return 0;
    return Math.min(this.count, Math.floor((height - this.startHeight) / this.proofWindow) + 1);
  }

  /** The first window opening after `height`, or null when the last has opened. */
  nextAfter(height: number): number | null {
    const w = this.openedBy(height);
    return w < this.count ? w : null;
  }

  /**
   * The height at which the renter stops retrying window w and records it
   * missed: its close, or a full window after the renter's first try,
   * whichever is later, so windows that passed while the renter was away
   * are not held against the host.
   */
  deadline(w: number, firstTry: number): number {
    return Math.max(this.closesAt(w), _height(firstTry, 'firstTry') + this.proofWindow);
  }
}

/** What one window asks: a segment of one sector, or with no sectors only an answer. */
export type Challenge =
  | { window: number; seed: Uint8Array; kind: 'segment'; sectorIndex: number; sectorId: string; sectorSize: number; segmentIndex: number }
  | { window: number; seed: Uint8Array; kind: 'liveness' };

function _bytes(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== HASH_SIZE) throw new RangeError(`${what} must be ${HASH_SIZE} bytes`);
  return value;
}

/**
 * sha256("cloudcoin/challenge" || 0x00 || blockHash || contractId || u32le window).
 * `blockHash` is in internal byte order (bcoin's block.hash(), the reverse of the hex explorers show).
 */
export function challengeSeed(blockHash: Uint8Array, contractId: Uint8Array, window: number): Uint8Array {
  if (!Number.isSafeInteger(window) || window < 0 || window > 0xffffffff) throw new RangeError(`window must be a u32, got ${window}`);
  const w = Buffer.alloc(4);
  w.writeUInt32LE(window);
  return createHash('sha256')
    .update(CHALLENGE_DOMAIN)
    .update(Buffer.of(0))
    .update(_bytes(blockHash, 'blockHash'))
    .update(_bytes(contractId, 'contractId'))
    .update(w)
    .digest();
}

/**
 * The challenge of `window` of contract `contractId` over the sectors of the
 * commitment in force (any order; they are sorted by id here).
 * @example challengeOf(block.hash(), cid, 3, sectors) // { kind: 'segment', sectorId, segmentIndex, ... }
 */
export function challengeOf(
  blockHash: Uint8Array,
  contractId: Uint8Array,
  window: number,
  sectors: readonly { id: string; size: number }[],
): Challenge {
  const seed = challengeSeed(blockHash, contractId, window);
  const sorted = sortSectors(sectors);
  if (sorted.length === 0) return { window, seed, kind: 'liveness' };
  const view = Buffer.from(seed.buffer, seed.byteOffset, seed.byteLength);
  const sectorIndex = Number(view.readBigUInt64LE(0) % BigInt(sorted.length));
  const sector = sorted[sectorIndex];
  const segmentIndex = Number(view.readBigUInt64LE(8) % BigInt(segmentCount(sector.size)));
  return { window, seed, kind: 'segment', sectorIndex, sectorId: sector.id, sectorSize: sector.size, segmentIndex };
}
