/**
 * The daemons fulfil a contract on their own, inside one process (the world
 * of test/util/fulfilment-world.ts). The renter's daemon commits to
 * what the host holds, challenges each window, pays for what was proven;
 * the host countersigns and acknowledges; at the end each broadcasts what
 * the design says, and rates the other.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { FundingOutput, refundHeightOf } from '../src/lib/negotiator/escrow.js';
import { decodeRecord, OutcomeRecord, RatingRecord } from '../src/lib/negotiator/records.js';
import { Revision } from '../src/lib/negotiator/revision.js';
import { MemoryNodeAdapter } from '../src/lib/negotiator/node/memory-adapter.js';
import { acknowledged, mine, show, start, world } from './util/fulfilment-world.js';

const require = createRequire(import.meta.url);
const CoinView = require('bcoin/lib/coins/coinview.js');

test('each window is committed, challenged, proven and paid; both sides show the same counts', async (t) => {
  const w = await world(t);
  const startHeight = (await show(w.renter, w.contractId)).startHeight;
  t.is(w.chain.height, startHeight + 1, 'the contract starts with the block that funds it');
  await w.renter.svc.fulfilment.round();
  const renterSide = (await show(w.renter, w.contractId)).fulfilment!;
  t.like(renterSide, { windows: 3, proven: 1, missed: 0, nextWindow: startHeight + 4 });
  t.like(renterSide.commitment, { sectors: 2 });
  t.is(renterSide.commitment!.bytes, 1000 + 1000 + 4096);
  await acknowledged(w);
  const hostSide = (await show(w.host, w.contractId)).fulfilment!;
  t.like(hostSide, { windows: 3, proven: 1, missed: 0 });
  t.deepEqual(hostSide.commitment, renterSide.commitment, 'the host countersigned the same revision');
  t.like(hostSide.payment, { proven: 1, acknowledged: true });
  t.true(hostSide.earned > 0);
  t.is(hostSide.earned, (await show(w.renter, w.contractId)).fulfilment!.earned, 'what the renter signed to pay is what the host earned');

  // A third node on the same chain: the renter's ccpays reach it too, and it drops them unread.
  const bystander = await start(t, w.chain);
  MemoryNodeAdapter.connect(w.renter.node, bystander.node);
  await mine(w, 8);
  await acknowledged(w);
  t.like((await show(w.renter, w.contractId)).fulfilment, { proven: 3, missed: 0, nextWindow: null, payment: { proven: 3, acknowledged: true } });
  for (const p of [w.renter, w.host, bystander]) {
    t.deepEqual(p.node.peers().map((peer) => p.node.banScore(peer)), p === w.renter ? [0, 0] : [0], 'nobody broke a rule');
  }
  t.is((await show(bystander, w.contractId)).fulfilment, null, 'not a party: it keeps nothing of the contract\'s payments');
});

test('a sector the host lost makes the windows that land on it missed once their deadline passes', async (t) => {
  const w = await world(t, 1);
  await w.renter.svc.fulfilment.round();
  t.like((await show(w.renter, w.contractId)).fulfilment, { proven: 1, commitment: { sectors: 1 } });
  rmSync(join(w.storageDir, 'sectors', w.contractId), { recursive: true, force: true });
  await mine(w, 4); // window 1 opens; the one sector it can land on is gone
  t.like((await show(w.renter, w.contractId)).fulfilment, { proven: 1, missed: 0 }, 'retried until its deadline');
  await mine(w, 4); // window 1's deadline; window 2 opens
  t.like((await show(w.renter, w.contractId)).fulfilment, { proven: 1, missed: 1 });
  await mine(w, 4);
  await acknowledged(w);
  const f = (await show(w.renter, w.contractId)).fulfilment!;
  t.is(f.missed, 2, 'windows 1 and 2 missed');
  t.like(f.payment, { proven: 1, acknowledged: true });
  t.like((await show(w.host, w.contractId)).fulfilment, { proven: 1, missed: 2 });
});

test('at the end the host broadcasts PAY and SPLIT of a fully proven contract; both rate once the payment is on chain', async (t) => {
  const w = await world(t);
  await w.renter.svc.fulfilment.round();
  await mine(w, 8);
  await acknowledged(w);
  await mine(w, 2);
  t.deepEqual(w.host.node.mempool, [], 'nothing before the end');
  await mine(w, 1);
  const spends = w.host.node.mempool.filter((tx) => tx.inputs[0].prevout.hash === w.funding.hash('hex'));
  t.deepEqual(spends.map((tx) => tx.inputs[0].prevout.index).sort(), [FundingOutput.PAYMENT, FundingOutput.COLLATERAL]);
  const view = new CoinView();
  view.addTX(w.funding, w.chain.height);
  for (const tx of spends) {
    t.true(tx.verify(view), 'both signatures satisfy the escrow script');
    const outcome = decodeRecord(tx.outputs[0].script.getNulldata()!);
    t.true(outcome instanceof OutcomeRecord);
    t.like(outcome, { windows: 3, proven: 3, missed: 0 });
  }
  await mine(w, 1, [...w.host.node.mempool]);
  const c = await show(w.renter, w.contractId);
  t.is(c.state, 'settled');
  t.is(c.fulfilment!.paid, c.fulfilment!.earned);
  await mine(w, 1);
  for (const p of [w.host, w.renter]) {
    const ratings = p.node.wallet.sent.map((tx) => decodeRecord(tx.outputs[0].script.getNulldata()!)).filter((r) => r instanceof RatingRecord);
    t.is(ratings.length, 1, 'one automatic rating each');
    t.is((ratings[0] as RatingRecord).score, 5);
  }
});

test('a host that vanished is paid what it proved: the renter broadcasts its PAY renter variant at the refund height', async (t) => {
  const w = await world(t);
  await w.renter.svc.fulfilment.round();
  await acknowledged(w);
  // The host's file server and node are gone for good: windows 1 and 2 are missed.
  await w.server.close();
  w.renter.node.penalize(w.renter.node.peers()[0], 100, 'gone');
  const refundHeight = refundHeightOf((await w.renter.svc.registry.getContract(Buffer.from(w.contractId, 'hex')))!.record.terms);
  for (let h = w.chain.height; h < refundHeight - 1; h++) {
    w.chain.mine();
    await w.renter.svc.fulfilment.round();
  }
  t.deepEqual(w.renter.node.mempool, [], 'nothing before the refund height');
  w.chain.mine();
  await w.renter.svc.fulfilment.round();
  const spends = w.renter.node.mempool.filter((tx) => tx.inputs[0].prevout.hash === w.funding.hash('hex'));
  t.deepEqual(spends.map((tx) => tx.inputs[0].prevout.index).sort(), [FundingOutput.PAYMENT, FundingOutput.COLLATERAL], 'PAY, and SPLIT since windows were missed');
  for (const tx of spends) {
    t.is(tx.locktime, refundHeight, 'the renter variants');
    t.like(decodeRecord(tx.outputs[0].script.getNulldata()!), { windows: 3, proven: 1 });
  }
});

test('the identity key goes into the wallet on the first round', async (t) => {
  const w = await world(t, 0);
  t.true(w.renter.node.wallet.imported.has(Buffer.from(w.renter.identity.publicKey).toString('hex')));
  t.true(w.host.node.wallet.imported.has(Buffer.from(w.host.identity.publicKey).toString('hex')));
});

test('switched off, the daemon acts on nothing by itself and still answers its counterparty; switched on, it catches up', async (t) => {
  const w = await world(t);
  await w.renter.svc.fulfilment.round();
  await acknowledged(w);
  const paid = (await show(w.renter, w.contractId)).fulfilment!.payment!;
  t.deepEqual(await w.renter.svc.setAutomatic(false), { automatic: false });
  await w.host.svc.setAutomatic(false);
  await mine(w, 4);
  t.like((await show(w.renter, w.contractId)).fulfilment, { proven: 1, missed: 0, payment: { seq: paid.seq, proven: 1 } }, 'window 1 not challenged, no revision since');
  await w.renter.svc.setAutomatic(true);
  await w.renter.svc.fulfilment.round();
  await acknowledged(w);
  t.like((await show(w.renter, w.contractId)).fulfilment, { proven: 2, payment: { proven: 2 } }, 'the renter caught up; the host, switched off, still countersigned and acknowledged');
  await t.throwsAsync(w.renter.svc.setAutomatic('no'), { message: /automatic must be true or false/ });
});

test('a renter that lost its commitment state numbers its next revision above the host\'s latest', async (t) => {
  const w = await world(t);
  const id = Buffer.from(w.contractId, 'hex');
  const put = async () => {
    const sector = randomBytes(32).toString('hex');
    await w.client.put(sector, randomBytes(2000));
    const expected = [...(await w.renter.svc.fulfilment.store.expectedSectors(id))!, sector];
    await w.renter.svc.setExpectedSectors(w.contractId, expected);
    await w.renter.svc.fulfilment.round();
    return expected.length;
  };
  const n = await put();
  t.like((await show(w.renter, w.contractId)).fulfilment!.commitment, { sectors: n }, 'the host is at revision 2 at least');
  await w.renter.svc.fulfilment.store.setCommitment(id, { revision: Revision.fromSectors(id, 1, []).encode().toString('hex'), sectors: [] });
  const sectors = await put();
  const renterSide = (await show(w.renter, w.contractId)).fulfilment!.commitment!;
  t.is(renterSide.sectors, sectors);
  t.deepEqual((await show(w.host, w.contractId)).fulfilment!.commitment, renterSide, 'the host countersigned it');
});
