/**
 * The rating each party's daemon publishes on its own when a contract ends
 * (docs/protocol.md §8), derived from the outcome the chain records
 * (ratings.ts autoRating): once the payment output is spent, or a few blocks
 * after the refund height if it never was. Once per contract; a party that
 * rated by hand (`contract rate`) is not rated for again.
 */
import type { KeyPair } from '../../crypto/sig.js';
import { isCloudCoinError } from '../../errors.js';
import type { ContractEntry } from '../entries.js';
import { refundHeightOf } from '../escrow.js';
import { endHeightOf } from '../../net/terms.js';
import type { Registry } from '../registry.js';
import { autoRating } from '../autorating.js';
import type { NodeAdapter } from './adapter.js';
import type { ChainActions } from './chainactions.js';
import type { FulfilmentStep } from './fulfilment-loop.js';
import type { FulfilmentStore } from './fulfilment-store.js';

/** Blocks after the refund height to wait for the payment's spend before rating without it. */
const RATE_WITHOUT_SPEND_AFTER = 3;

export class AutoRatings implements FulfilmentStep {
  readonly name = 'automatic ratings';
  private lastFailure = '';

  constructor(
    private readonly node: NodeAdapter,
    private readonly identity: KeyPair,
    private readonly registry: Registry,
    private readonly synced: () => Promise<void>,
    private readonly store: FulfilmentStore,
    private readonly chainActions: ChainActions,
  ) {}

  async run(): Promise<void> {
    await this.synced();
    const tip = this.node.chain.height;
    for (const e of await this.registry.listByKey(this.identity.publicKey, 'any')) {
      const terms = e.record.terms;
      if (tip < endHeightOf(terms) || await this.store.rated(e.record.id())) continue;
      if (!e.paymentSpent && tip < refundHeightOf(terms) + RATE_WITHOUT_SPEND_AFTER) continue;
      await this._rate(e);
    }
  }

  private async _rate(e: ContractEntry): Promise<void> {
    const id = e.record.id();
    const me = Buffer.from(this.identity.publicKey);
    if ((await this.registry.ratingsFor(id)).some((r) => me.equals(r.rating.raterKey))) {
      await this.store.setRated(id, '');
      return;
    }
    const role = me.equals(e.record.terms.hostKey) ? 'host' : 'renter';
    const acknowledged = role === 'host' ? (await this.store.payment(id))?.acked?.proven ?? null : null;
    const score = autoRating(e.outcome(), role, acknowledged);
    try {
      const r = await this.chainActions.rate(id.toString('hex'), score, 'automatic: from the contract\'s outcome');
      await this.store.setRated(id, r.txid);
      this.node.logger.info(`negotiator: contract ${id.toString('hex').slice(0, 16)}: rated ${score}/5 on its own (${r.txid})`);
    } catch (err) {
      const message = isCloudCoinError(err) ? `${err.code}: ${err.message}` : (err as Error).message;
      if (message !== this.lastFailure) this.node.logger.warning(`negotiator: contract ${id.toString('hex').slice(0, 16)}: automatic rating failed: ${message}; trying again`);
      this.lastFailure = message;
    }
  }
}
