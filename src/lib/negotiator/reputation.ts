/**
 * A key's reputation, computed from the chain's ratings alone (so every node
 * that indexed the same blocks gets the same number).
 *
 * Each rating r of a contract c counts with weight
 *
 *   w(r) = (payment(c) + collateral(c)) × duration(c) / MONTH_BLOCKS
 *
 * — the coins the contract locked times how long it locked them, in
 * coin-months. The reputation is a weighted mean pulled toward a neutral
 * prior:
 *
 *   score = (PRIOR_SCORE × PRIOR_WEIGHT + Σ w(r)·s(r)) / (PRIOR_WEIGHT + Σ w(r))
 *
 * so a key with little rated business stays near 3 whatever its ratings say.
 * Why fake ratings cost: a rating only counts if it rates a funded contract,
 * and it moves the score only in proportion to the coin-months that contract
 * locked in escrow. Self-dealing to inflate a score means locking as much
 * capital for as long as the honest business it wants to outweigh, plus the
 * fees of funding, settling and rating. docs/protocol.md has the full
 * argument.
 */
import { MONTH_BLOCKS, collateralOf, paymentOf, type Terms } from '../net/terms.js';
import type { RatingEntry } from './entries.js';
import type { Registry } from './registry.js';

export const PRIOR_SCORE = 3;
/** The prior counts as much as one coin-month of rated business (10^8 base units locked for a month). */
export const PRIOR_WEIGHT = 100_000_000;

export interface Reputation {
  /** Weighted score, 1..5 (3 with no ratings). */
  score: number;
  /** Ratings that count. */
  count: number;
  /** Σ w(r), base-unit-months: how much rated business stands behind the score. */
  weight: number;
}

/** The weight of one rating of a contract with these terms. */
export function ratingWeight(terms: Terms): number {
  return ((paymentOf(terms) + collateralOf(terms)) * terms.duration) / MONTH_BLOCKS;
}

/**
 * The formula, on (score, terms) pairs. Summation follows the given order,
 * which the registry keeps canonical (by contract id, then rater), so the
 * floating-point result is the same on every node.
 */
export function reputationOf(ratings: { score: number; terms: Terms }[]): Reputation {
  let weight = 0;
  let sum = 0;
  for (const r of ratings) {
    const w = ratingWeight(r.terms);
    weight += w;
    sum += w * r.score;
  }
  return { score: (PRIOR_SCORE * PRIOR_WEIGHT + sum) / (PRIOR_WEIGHT + weight), count: ratings.length, weight };
}

/** The reputation of `key` from the registry's ratings of it. */
export async function reputationFromRegistry(registry: Registry, key: Uint8Array): Promise<Reputation> {
  const ratings: RatingEntry[] = await registry.ratingsOf(key);
  const scored: { score: number; terms: Terms }[] = [];
  for (const r of ratings) {
    const contract = await registry.getContract(r.rating.contractId);
    if (contract) scored.push({ score: r.rating.score, terms: contract.record.terms });
  }
  return reputationOf(scored);
}
