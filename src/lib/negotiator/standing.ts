/**
 * A host key's standing: what the chain says it has put at stake as a host,
 * the rank the offer pool gives its offers (offerranking.ts).
 *
 *   standing = Σ w(c) × proven(c) / windows(c)
 *
 * over the key's ended contracts as host, with w(c) the coin-months its
 * escrow was locked (reputation.ts, ratingWeight); the factor is 1 unless
 * the payment was settled by a PAY that counted proof windows. A fresh key
 * has standing 0, and raising it costs what reputation costs: capital
 * locked in escrow for the blocks it is to count, proofs delivered where
 * the contract was settled on them. Ratings are left out: they say how
 * good a host is, standing only how much it stands to lose.
 */
import { endHeightOf } from '../net/terms.js';
import type { Registry } from './registry.js';
import { lockedBlocksOf, ratingWeight } from './reputation.js';

/** The standing of `key` from the registry, as of its tip. */
export async function standingOf(registry: Registry, key: Uint8Array): Promise<number> {
  const tip = registry.getTip()?.height ?? -1;
  let standing = 0;
  for (const c of await registry.listByKey(key, 'host')) {
    if (endHeightOf(c.record.terms) > tip) continue;
    const pay = c.paymentSpent?.outcome;
    const share = pay?.by === 'settlement' && pay.windows > 0 ? pay.proven / pay.windows : 1;
    standing += ratingWeight(c.record.terms, lockedBlocksOf(c, tip)) * share;
  }
  return standing;
}
