/**
 * The rating each party's daemon publishes on its own when a contract ends,
 * derived from the outcome the chain records (design: fulfilment §4), so a
 * score says what happened rather than what a party felt like typing:
 *
 *   renter rates the host    1 + round(4 · proven / windows)
 *                            (the settled counts; 1 if nothing was settled)
 *   host rates the renter    5 if the payment spend paid at least what the
 *                            host's latest ccpayack acknowledged, else 1
 *
 * `contract rate` stays for a manual score; the registry keeps a party's
 * first rating of a contract only.
 */
import type { ContractOutcome } from './entries.js';

export type RatingRole = 'renter' | 'host';

/**
 * The score `role` gives its counterparty. `acknowledgedP`: the proven count
 * of the host's latest ccpayack (null: it never acknowledged one); the
 * renter's rating does not use it.
 */
export function autoRating(outcome: ContractOutcome | null, role: RatingRole, acknowledgedP: number | null = null): number {
  if (role === 'renter') {
    if (!outcome || outcome.windows === null || outcome.proven === null) return 1;
    return 1 + Math.round((4 * outcome.proven) / outcome.windows);
  }
  const owed = acknowledgedP ?? 0;
  if (owed === 0) return 5;
  const paid = outcome?.paymentBy === 'settlement' ? outcome.proven ?? 0 : 0;
  return paid >= owed ? 5 : 1;
}
