/**
 * The rating each party's daemon publishes on its own when a contract ends
 * (docs/protocol.md §8.6), derived from the outcome the chain records
 * (autorating.ts): once the payment output is spent, or a few blocks
 * after the refund height if it never was. Once per contract; a party that
 * rated by hand (`contract rate`) is not rated for again.
 */
import { isCloudCoinError } from '../../errors.js';
import { endHeightOf } from '../../net/terms.js';
import { autoRating } from '../autorating.js';
import type { ContractEntry } from '../entries.js';
import { refundHeightOf } from '../escrow.js';
import type { ChainActions } from './chainactions.js';
import { shortId, type FulfilmentContext } from './fulfilment-context.js';
import type { FulfilmentStep } from './fulfilment-loop.js';

/** Blocks after the refund height to wait for the payment's spend before rating without it. */
const RATE_WITHOUT_SPEND_AFTER = 3;

export class AutoRatings implements FulfilmentStep {
  readonly name = 'automatic ratings';
  private lastFailure = '';

  constructor(
    private readonly ctx: FulfilmentContext,
    private readonly chainActions: ChainActions,
  ) {}

  async run(): Promise<void> {
    await this.ctx.synced();
    const tip = this.ctx.node.chain.height;
    for (const e of await this.ctx.registry.listByKey(this.ctx.identity.publicKey, 'any')) {
      const terms = e.record.terms;
      if (tip < endHeightOf(terms) || await this.ctx.store.rated(e.record.id())) continue;
      if (!e.paymentSpent && tip < refundHeightOf(terms) + RATE_WITHOUT_SPEND_AFTER) continue;
      await this._rate(e);
    }
  }

  private async _rate(e: ContractEntry): Promise<void> {
    const id = e.record.id();
    const me = Buffer.from(this.ctx.identity.publicKey);
    if ((await this.ctx.registry.ratingsFor(id)).some((r) => me.equals(r.rating.raterKey))) {
      await this.ctx.store.setRated(id, '');
      return;
    }
    const role = me.equals(e.record.terms.hostKey) ? 'host' : 'renter';
    const acknowledged = role === 'host' ? (await this.ctx.store.payment(id))?.acked?.proven ?? null : null;
    const score = autoRating(e.outcome(), role, acknowledged);
    try {
      const r = await this.chainActions.rate(id.toString('hex'), score, 'automatic: from the contract\'s outcome');
      await this.ctx.store.setRated(id, r.txid);
      this.ctx.node.logger.info(`negotiator: contract ${shortId(id)}: rated ${score}/5 on its own (${r.txid})`);
    } catch (err) {
      const message = isCloudCoinError(err) ? `${err.code}: ${err.message}` : (err as Error).message;
      if (message !== this.lastFailure) this.ctx.node.logger.warning(`negotiator: contract ${shortId(id)}: automatic rating failed: ${message}; trying again`);
      this.lastFailure = message;
    }
  }
}
