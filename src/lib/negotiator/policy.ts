/**
 * The automatic decisions of a negotiation: the host's answer to a propose
 * (accept, counter or refuse) from its limits and current load, and the
 * renter's answer to a counter from its own limits. Pure functions of their
 * inputs, so a host run by hand can show what the policy would have done.
 */
import type { OfferPacket } from '../net/offer.js';
import { RefuseReason, type RefuseReasonValue } from '../net/refuse.js';
import type { Terms } from '../net/terms.js';
import { MIN_ESCROW_VALUE, escrowValue } from './escrow.js';
import type { ProposedTerms } from './negotiation.js';

export interface HostLimits {
  /** Lowest price per GiB per month the host takes, whatever its offer says. */
  priceFloor: number;
  /** Bytes the host can still commit, in total. */
  capacity: number;
  /** Most contracts at once (on chain plus being negotiated). */
  maxContracts: number;
  /** Most funding fee the host pays half of. */
  maxFee: number;
}

/** What the host has committed already, and where the chain is. */
export interface Load {
  bytes: number;
  contracts: number;
  /** Current chain height: a contract must start between it and MAX_START_DELAY blocks later. */
  height: number;
}

/** Furthest ahead a contract may start (a week of blocks): collateral locked for nothing meanwhile. */
export const MAX_START_DELAY = 1008;

export type Decision =
  | { action: 'accept' }
  | { action: 'counter'; terms: ProposedTerms }
  | { action: 'refuse'; reason: RefuseReasonValue };

function _clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, n));
}

export class HostPolicy {
  readonly limits: HostLimits;

  constructor(limits: HostLimits) {
    for (const [name, v] of Object.entries(limits)) {
      if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative integer, got ${v}`);
    }
    this.limits = limits;
  }

  /**
   * The host's answer to `terms`, proposed for `offer` (null if the offer is
   * not the host's live offer). Size and duration outside the offer's range,
   * a price under the offer (or the floor) or collateral over it become a
   * counter at the nearest acceptable terms; no room left, too many
   * contracts or a start in the past or too far ahead, a refusal (a start
   * in the past would let the renter's refund path open early).
   */
  decide(terms: Terms, offer: OfferPacket | null, load: Load): Decision {
    if (!offer || offer.withdrawn) return { action: 'refuse', reason: RefuseReason.offer };
    if (terms.startHeight < load.height || terms.startHeight > load.height + MAX_START_DELAY) {
      return { action: 'refuse', reason: RefuseReason.range };
    }
    if (load.contracts >= this.limits.maxContracts) return { action: 'refuse', reason: RefuseReason.contracts };
    const room = this.limits.capacity - load.bytes;
    if (room < offer.minSize) return { action: 'refuse', reason: RefuseReason.capacity };

    const wanted: ProposedTerms = {
      size: _clamp(terms.size, offer.minSize, Math.min(offer.maxSize, room)),
      duration: _clamp(terms.duration, offer.minDuration, offer.maxDuration),
      startHeight: terms.startHeight,
      price: Math.max(terms.price, offer.price, this.limits.priceFloor),
      collateral: Math.min(terms.collateral, offer.collateral),
    };
    const full = { ...terms, ...wanted };
    if (escrowValue(full, 'payment') < MIN_ESCROW_VALUE || escrowValue(full, 'collateral') < MIN_ESCROW_VALUE) {
      return { action: 'refuse', reason: RefuseReason.funding };
    }
    const same = wanted.size === terms.size && wanted.duration === terms.duration && wanted.price === terms.price
      && wanted.collateral === terms.collateral;
    return same ? { action: 'accept' } : { action: 'counter', terms: wanted };
  }
}

export interface RenterLimits {
  /** Highest price per GiB per month the renter pays. */
  maxPrice: number;
  /** Least collateral per GiB per month the renter wants locked. */
  minCollateral: number;
}

/**
 * The renter's answer to a counter: accept only the size and duration it
 * asked for, at a price and collateral within its limits.
 */
export function renterDecision(asked: ProposedTerms, counter: Terms, limits: RenterLimits): Decision {
  if (counter.size !== asked.size || counter.duration !== asked.duration || counter.startHeight !== asked.startHeight) {
    return { action: 'refuse', reason: RefuseReason.range };
  }
  if (counter.price > limits.maxPrice || counter.collateral < limits.minCollateral) return { action: 'refuse', reason: RefuseReason.price };
  return { action: 'accept' };
}
