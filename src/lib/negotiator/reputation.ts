/**
 * A key's reputation, computed from the chain alone (so every node that
 * indexed the same blocks gets the same numbers).
 *
 * Only contracts that have ended (end height <= tip) count. Each counts with
 * weight
 *
 *   w(c) = (payment(c) + collateral(c)) × locked(c) / MONTH_BLOCKS
 *
 * where locked(c) is the number of blocks its coins actually stayed in
 * escrow: from the funding block to the block that spent its last escrow
 * output, or to the tip while one is unspent. The weight is coin-months of
 * capital really locked, not the duration the terms claim: a contract closed
 * the block after its funding weighs one block, whatever it says.
 *
 * The score is a weighted mean of the ratings a key received, pulled toward
 * a neutral prior:
 *
 *   score = (PRIOR_SCORE × PRIOR_WEIGHT + Σ w·s) / (PRIOR_WEIGHT + Σ w)
 *
 * Beside it, `fulfilment` sums the key's ended contracts as host whose
 * payment was settled by a PAY: windows and proven windows, and the ratio
 * Σ w·proven/windows ÷ Σ w. Lifting either by self-dealing means locking as
 * much capital for as long as the honest business it wants to outweigh;
 * docs/protocol.md §7 has the numbers.
 */
import { MONTH_BLOCKS, collateralOf, endHeightOf, paymentOf, type Terms } from '../net/terms.js';
import type { ContractEntry } from './entries.js';
import type { Registry } from './registry.js';

export const PRIOR_SCORE = 3;
/** The prior counts as much as one coin-month of rated business (10^8 base units locked for a month). */
export const PRIOR_WEIGHT = 100_000_000;

export interface Fulfilment {
  /** Proof windows of the key's PAY-settled contracts as host. */
  windows: number;
  proven: number;
  /** Weighted share of windows proven, 0..1; null with no PAY-settled contract. */
  ratio: number | null;
}

export interface Reputation {
  /** Weighted score, 1..5 (3 with no ratings). */
  score: number;
  /** Ratings that count. */
  count: number;
  /** Σ w, base-unit-months: how much rated business stands behind the score. */
  weight: number;
  fulfilment: Fulfilment;
}

/** A contract as reputation sees it: its terms and the blocks its coins were locked. */
export interface Weighed {
  terms: Terms;
  lockedBlocks: number;
}

/** The weight of a contract whose coins stayed `lockedBlocks` blocks in escrow. */
export function ratingWeight(terms: Terms, lockedBlocks: number): number {
  return ((paymentOf(terms) + collateralOf(terms)) * lockedBlocks) / MONTH_BLOCKS;
}

/** Blocks the entry's escrow stayed locked as of height `tip`. */
export function lockedBlocksOf(entry: ContractEntry, tip: number): number {
  const spent = entry.paymentSpent && entry.collateralSpent ? Math.max(entry.paymentSpent.height, entry.collateralSpent.height) : tip;
  return Math.max(0, Math.min(spent, tip) - entry.height);
}

/**
 * The formula, on rated and fulfilled contracts. Summation follows the given
 * order, which the registry keeps canonical (by contract id, then rater), so
 * the floating-point result is the same on every node.
 */
export function reputationOf(
  ratings: (Weighed & { score: number })[],
  fulfilled: (Weighed & { windows: number; proven: number })[] = [],
): Reputation {
  let weight = 0;
  let sum = 0;
  for (const r of ratings) {
    const w = ratingWeight(r.terms, r.lockedBlocks);
    weight += w;
    sum += w * r.score;
  }
  const fulfilment: Fulfilment = { windows: 0, proven: 0, ratio: null };
  let fw = 0;
  let fsum = 0;
  for (const f of fulfilled) {
    const w = ratingWeight(f.terms, f.lockedBlocks);
    fulfilment.windows += f.windows;
    fulfilment.proven += f.proven;
    fw += w;
    fsum += (w * f.proven) / f.windows;
  }
  if (fulfilled.length > 0) fulfilment.ratio = fw > 0 ? fsum / fw : fulfilment.proven / fulfilment.windows;
  return { score: (PRIOR_SCORE * PRIOR_WEIGHT + sum) / (PRIOR_WEIGHT + weight), count: ratings.length, weight, fulfilment };
}

/** The reputation of `key` from the registry, as of its tip. */
export async function reputationFromRegistry(registry: Registry, key: Uint8Array): Promise<Reputation> {
  const tip = registry.getTip()?.height ?? -1;
  const ended = (e: ContractEntry | null): e is ContractEntry => e !== null && endHeightOf(e.record.terms) <= tip;
  const ratings: (Weighed & { score: number })[] = [];
  for (const r of await registry.ratingsOf(key)) {
    const contract = await registry.getContract(r.rating.contractId);
    if (ended(contract)) ratings.push({ score: r.rating.score, terms: contract.record.terms, lockedBlocks: lockedBlocksOf(contract, tip) });
  }
  const fulfilled: (Weighed & { windows: number; proven: number })[] = [];
  for (const c of await registry.listByKey(key, 'host')) {
    const pay = c.paymentSpent?.outcome;
    if (ended(c) && pay?.by === 'settlement') {
      fulfilled.push({ terms: c.record.terms, lockedBlocks: lockedBlocksOf(c, tip), windows: pay.windows, proven: pay.proven });
    }
  }
  return reputationOf(ratings, fulfilled);
}
