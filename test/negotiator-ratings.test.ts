/**
 * Ratings from the chain's point of view: ChainActions refuses a rating or
 * a refund before the chain allows it (a real LevelDB registry over built
 * blocks, an in-memory node at a chosen height), and autoRating derives each
 * party's score from a contract's outcome.
 */
import test from 'ava';
import { Registry } from '../src/lib/negotiator/registry.js';
import { autoRating } from '../src/lib/negotiator/autorating.js';
import type { ContractOutcome } from '../src/lib/negotiator/entries.js';
import { COLLATERAL_DELAY, refundHeightOf } from '../src/lib/negotiator/escrow.js';
import { ChainActions } from '../src/lib/negotiator/node/chainactions.js';
import { MemoryNodeAdapter } from '../src/lib/negotiator/node/memory-adapter.js';
import { CloudCoinError } from '../src/lib/errors.js';
import { TestChain, contractOf, fundingOf, party } from './negotiator-fixtures.js';
import { tempDir } from './util/devnode.js';

test('contract rate is refused before the end height; the host\'s refund before its own height', async (t) => {
  const [renter, host] = [party(), party()];
  const record = contractOf(renter, host, { startHeight: 0, duration: 10 });
  const chain = new TestChain();
  chain.add([fundingOf(record, renter, host).toTX()]);
  const registry = Registry.at(tempDir(t, 'cc-ratings-'));
  await registry.open();
  t.teardown(() => registry.close());
  await registry.connectBlock(chain.blocks[0], 0);
  const id = record.id().toString('hex');
  const actionsOf = (who: typeof renter) => {
    const node = new MemoryNodeAdapter({ passphrase: 'secret' });
    return { node, actions: new ChainActions(node, who.id, registry, async () => {}) };
  };

  const r = actionsOf(renter);
  r.node.chain.height = 8;
  const early = await t.throwsAsync(r.actions.rate(id, 5), { instanceOf: CloudCoinError, message: /ends at height 10 \(chain is at 8\): a rating counts only from its end/ });
  t.is(early?.code, 'ECONFLICT');
  t.deepEqual(r.node.wallet.sent, []);
  r.node.chain.height = 9; // mined at 10 at the earliest: counts
  t.is((await r.actions.rate(id, 5)).score, 5);
  t.is(r.node.wallet.sent.length, 1);

  const h = actionsOf(host);
  h.node.chain.height = refundHeightOf(record.terms);
  const refusal = await t.throwsAsync(h.actions.settle(id), { instanceOf: CloudCoinError });
  t.is(refusal?.code, 'ECONFLICT');
  t.regex(refusal!.message, new RegExp(`refund path opens at height ${refundHeightOf(record.terms) + COLLATERAL_DELAY} for the host's collateral`));
});

const settled = (over: Partial<ContractOutcome>): ContractOutcome => ({
  windows: 30, proven: 30, missed: 0, seq: 30, hostPaid: 1, renterRefunded: 0, collateralReturned: 1, burned: 0,
  paymentBy: 'settlement', collateralBy: 'settlement', ...over,
});

test('autoRating: the renter rates the host by the share of windows proven', (t) => {
  t.is(autoRating(settled({}), 'renter'), 5);
  t.is(autoRating(settled({ proven: 0, missed: 30 }), 'renter'), 1);
  t.is(autoRating(settled({ proven: 15 }), 'renter'), 3);
  t.is(autoRating(settled({ proven: 26 }), 'renter'), 4, '1 + round(3.47)');
  t.is(autoRating(settled({ proven: 27 }), 'renter'), 5, '1 + round(3.6)');
  const refunded = settled({ windows: null, proven: null, missed: null, seq: null, paymentBy: 'refund', collateralBy: 'refund' });
  t.is(autoRating(refunded, 'renter'), 1, 'nothing settled: nothing proven on chain');
  t.is(autoRating(null, 'renter'), 1);
});

test('autoRating: the host rates the renter 5 if paid at least what it acknowledged, else 1', (t) => {
  t.is(autoRating(settled({ proven: 20 }), 'host', 20), 5);
  t.is(autoRating(settled({ proven: 21 }), 'host', 20), 5);
  t.is(autoRating(settled({ proven: 19 }), 'host', 20), 1, 'a stale PAY');
  t.is(autoRating(settled({ paymentBy: 'refund', proven: null, windows: null }), 'host', 20), 1, 'refunded though it owed 20 windows');
  t.is(autoRating(settled({ paymentBy: null, collateralBy: 'settlement', proven: 30 }), 'host', 20), 1, 'the SPLIT\'s counts are not a payment');
  t.is(autoRating(null, 'host', null), 5, 'nothing acknowledged, nothing owed');
  t.is(autoRating(settled({ paymentBy: 'refund' }), 'host', 0), 5);
});
