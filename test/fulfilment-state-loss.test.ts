/**
 * A renter that lost its fulfilment state (docs/protocol.md §8.6): reinstalled
 * on a fresh database with only its identity key, inside one process (the
 * world of test/util/fulfilment-world.ts). It numbers its payment revisions
 * above what it sent before, so its host accepts them; it re-challenges the
 * windows it no longer knows; a host that cannot prove them now keeps the
 * revision it already holds.
 */
import test, { type ExecutionContext } from 'ava';
import { createRequire } from 'node:module';
import { unixNow } from '../src/lib/negotiator/params.js';
import { FundingOutput } from '../src/lib/negotiator/escrow.js';
import { decodeRecord, OutcomeRecord } from '../src/lib/negotiator/records.js';
import { MemoryNodeAdapter } from '../src/lib/negotiator/node/memory-adapter.js';
import { waitFor } from './util/devnode.js';
import { acknowledged, mine, show, start, world, type World } from './util/fulfilment-world.js';

const require = createRequire(import.meta.url);
const CoinView = require('bcoin/lib/coins/coinview.js');

/**
 * The renter's daemon is gone with its database; a new node and service on
 * a fresh one, with the same identity key, take its place. Resolves once the
 * host's offer (its file server URL) reached the new renter and the second
 * the old daemon stopped in has passed, as a real reinstall's would.
 */
async function reinstallRenter(t: ExecutionContext, w: World): Promise<World> {
  await w.renter.svc.close();
  const stopped = unixNow();
  w.renter.node.penalize(w.renter.node.peers()[0], 100, 'the old install is gone');
  const renter = await start(t, w.chain, w.renter.identity);
  MemoryNodeAdapter.connect(renter.node, w.host.node);
  await waitFor(async () => (await renter.svc.listOffers()).length === 1, 10_000, 'the host\'s offer at the new renter');
  await waitFor(() => unixNow() > stopped, 10_000, 'the next second');
  return { ...w, renter };
}

/** What the host broadcast on the contract's escrow: the escrow output each spends, and its outcome record; each checked against the escrow script. */
function hostSettlements(t: ExecutionContext, w: World): { output: number; outcome: OutcomeRecord }[] {
  const view = new CoinView();
  view.addTX(w.funding, w.chain.height);
  return w.host.node.mempool.filter((tx) => tx.inputs[0].prevout.hash === w.funding.hash('hex')).map((tx) => {
    t.true(tx.verify(view), 'both signatures satisfy the escrow script');
    const outcome = decodeRecord(tx.outputs[0].script.getNulldata()!);
    if (!(outcome instanceof OutcomeRecord)) throw new Error('a settlement without an outcome record');
    return { output: tx.inputs[0].prevout.index, outcome };
  }).sort((a, b) => a.output - b.output);
}

test('a renter reinstalled with only its identity key pays its host again: the host is paid for every window proven', async (t) => {
  const old = await world(t);
  await old.renter.svc.fulfilment.round();
  await acknowledged(old);
  const before = (await show(old.host, old.contractId)).fulfilment!.payment!;
  t.like(before, { proven: 1, acknowledged: true }, 'window 0 paid by the old install');

  const w = await reinstallRenter(t, old);
  t.like((await show(w.renter, w.contractId)).fulfilment, { proven: 0, missed: 0, payment: null, commitment: null }, 'nothing of the fulfilment is left');
  await mine(w, 1);
  await acknowledged(w);
  const renterSide = (await show(w.renter, w.contractId)).fulfilment!;
  t.like(renterSide, { proven: 1, missed: 0 }, 'window 0 re-challenged and proven again');
  t.true(renterSide.payment!.seq > before.seq, 'the new revision is numbered above the one sent before the loss');
  t.like((await show(w.host, w.contractId)).fulfilment!.payment, { seq: renterSide.payment!.seq, proven: 1, acknowledged: true }, 'the host accepted it');
  t.deepEqual((await show(w.host, w.contractId)).fulfilment!.commitment, renterSide.commitment, 'the commitment, renumbered above the host\'s, countersigned');

  await mine(w, 7);
  await acknowledged(w);
  const paid = (await show(w.host, w.contractId)).fulfilment!.payment!;
  t.like(paid, { proven: 3, acknowledged: true }, 'the host\'s latest revision pays every window');
  t.true(paid.seq > renterSide.payment!.seq, 'each revision numbered above the last');
  t.deepEqual(w.host.node.peers().map((p) => w.host.node.banScore(p)), [0], 'the host scored nothing against the new renter');

  await mine(w, 3);
  const settlements = hostSettlements(t, w);
  t.deepEqual(settlements.map((s) => s.output), [FundingOutput.PAYMENT, FundingOutput.COLLATERAL], 'PAY and SPLIT at the end');
  for (const s of settlements) t.like(s.outcome, { windows: 3, proven: 3, missed: 0, seq: paid.seq });
});

test('a host that cannot prove the windows again keeps the revision it holds: the reinstalled renter\'s lower count is refused as shrinking', async (t) => {
  const old = await world(t);
  await old.renter.svc.fulfilment.round();
  await mine(old, 4); // window 1 opens and is proven
  await acknowledged(old);
  const before = (await show(old.host, old.contractId)).fulfilment!.payment!;
  t.like(before, { proven: 2, acknowledged: true });

  // The host's file server is gone: the windows the new renter re-challenges are missed.
  await old.server.close();
  const w = await reinstallRenter(t, old);
  await mine(w, 7); // the contract's end: every window decided by the renter
  t.like((await show(w.renter, w.contractId)).fulfilment, { proven: 0, missed: 3, payment: { proven: 0, acknowledged: false } });
  const refusal = (l: string) => l.includes('shrinking') && l.includes('0 windows proven, below the 2 already signed');
  await waitFor(() => w.host.node.logger.lines.some(refusal), 10_000, 'the host refusing the renter\'s new count as shrinking');
  t.like((await show(w.host, w.contractId)).fulfilment!.payment, { seq: before.seq, proven: 2, acknowledged: true }, 'the host still holds its latest revision');

  await mine(w, 4); // a proof window after the end, with the renter's revisions not covering every window
  const settlements = hostSettlements(t, w);
  t.deepEqual(settlements.map((s) => s.output), [FundingOutput.PAYMENT], 'PAY only: not every window was proven');
  t.like(settlements[0].outcome, { windows: 3, proven: 2, missed: 0, seq: before.seq }, 'the host is paid the 2 windows it proved');
});
