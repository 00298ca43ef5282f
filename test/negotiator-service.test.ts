/**
 * NegotiatorServices inside one process: each on a MemoryNodeAdapter, linked
 * to the other so that what one sends arrives at the other's onMessage, each
 * with its own LevelDB in a temp dir. The offer travels, a propose is
 * answered by the host's policy, a funded negotiation hands its transaction
 * to the renter's node, and what the service refuses comes out as a domain
 * error with its code.
 */
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { RefuseReason } from '../src/lib/net/refuse.js';
import { generateKeyPair } from '../src/lib/crypto/sig.js';
import { CloudCoinError, ExitCode } from '../src/lib/errors.js';
import type { FundingWallet } from '../src/lib/negotiator/negotiator.js';
import { ContractRecord, decodeRecord, RatingRecord } from '../src/lib/negotiator/records.js';
import { MemoryNodeAdapter } from '../src/lib/negotiator/node/memory-adapter.js';
import type { OfferInfo } from '../src/lib/negotiator/node/offerbook.js';
import { offerBy, party, walletOf } from './negotiator-fixtures.js';
import { waitFor } from './util/devnode.js';
import { startService, type Party } from './util/memory-service.js';


const GiB = 1024 ** 3;
const OFFER = { price: 100_000, collateral: 200_000, minSize: GiB, maxSize: 50 * GiB, minDuration: 144, maxDuration: 52_560, url: 'http://127.0.0.1:9000', validity: 3600 };
const ASK = { size: 10 * GiB, duration: 4320 };

function start(t: ExecutionContext, options: { passphrase?: string; funder?: FundingWallet } = {}): Promise<Party> {
  return startService(t, options);
}

/** A host with a live offer, and a renter that has it in its pool. */
async function market(t: ExecutionContext, funded = false): Promise<{ host: Party; renter: Party; offer: OfferInfo }> {
  const host = await start(t, funded ? { funder: walletOf(party()) } : {});
  const renter = await start(t, funded ? { funder: walletOf(party()) } : {});
  MemoryNodeAdapter.connect(host.node, renter.node);
  const offer = await host.svc.createOffer({ ...OFFER, host: { capacity: 100 * GiB } });
  await waitFor(async () => (await renter.svc.listOffers()).length === 1, 5_000, 'the offer at the renter');
  return { host, renter, offer };
}

async function rejects(t: ExecutionContext, fn: () => unknown, code: string, message: RegExp): Promise<void> {
  const err = await t.throwsAsync(async () => fn(), { instanceOf: CloudCoinError, message });
  t.is(err?.code, code);
}

test('an offer created on the host reaches the renter\'s pool, signed by the host\'s key', async (t) => {
  const { host, renter, offer } = await market(t);
  const seen = await renter.svc.listOffers();
  t.is(seen[0].hash, offer.hash);
  t.is(seen[0].hostKey, Buffer.from(host.identity.publicKey).toString('hex'));
  t.false(seen[0].mine);
  t.true((await host.svc.listOffers())[0].mine);
  t.is(renter.node.banScore(renter.node.peers()[0]), 0, 'the host broke no rule');

  const gone = await host.svc.withdrawOffer();
  t.true(gone.withdrawn);
  await waitFor(async () => (await renter.svc.listOffers()).length === 0, 5_000, 'the withdrawal at the renter');
});

test('a propose the host\'s policy accepts ends funded: the renter\'s node gets the funding transaction', async (t) => {
  const { host, renter, offer } = await market(t, true);
  const r = await renter.svc.negotiate({ offer: offer.hash, ...ASK, timeout: 10_000 });
  t.is(r.outcome, 'funded');
  t.is(r.error, null);
  t.is(r.negotiation.role, 'renter');
  t.deepEqual(renter.node.mempool.map((tx) => tx.txid()), [r.txid]);
  t.deepEqual(renter.node.relayed.map((tx) => tx.txid()), [r.txid]);
  const record = decodeRecord(renter.node.mempool[0].outputs[0].script.getNulldata()!);
  t.true(record instanceof ContractRecord, 'output 0 carries the contract record');
  const hostSide = await host.svc.contracts('host');
  t.deepEqual(hostSide.negotiating.map((n) => n.contractId), [r.negotiation.contractId], 'the host signed its part of the same contract');
  t.deepEqual(host.node.mempool, [], 'the renter broadcasts, not the host');
});

test('a propose over the host\'s capacity is refused by the host, with the reason', async (t) => {
  const { host, renter, offer } = await market(t);
  await host.svc.setHost({ capacity: GiB / 2 });
  const r = await renter.svc.negotiate({ offer: offer.hash, ...ASK, timeout: 10_000 });
  t.is(r.outcome, 'refused');
  t.is(r.refusedBy, 'host');
  t.is(r.reason, 'capacity');
  t.is(r.txid, null);
});

test('a renter whose wallet cannot pay its share gets the wallet\'s EFUNDS as the outcome\'s error', async (t) => {
  const { renter, offer } = await market(t);
  const r = await renter.svc.negotiate({ offer: offer.hash, ...ASK, timeout: 10_000 });
  t.is(r.outcome, 'refused', 'the renter ends what it cannot fund');
  t.is(r.refusedBy, 'renter');
  t.is(r.error?.code, 'EFUNDS');
  t.deepEqual(renter.node.mempool, []);
});

test('manual mode: the propose waits in pending until the host refuses it', async (t) => {
  const { host, renter, offer } = await market(t);
  await host.svc.setHost({ mode: 'manual' });
  const negotiating = renter.svc.negotiate({ offer: offer.hash, ...ASK, timeout: 10_000 });
  const p = await waitFor(async () => (await host.svc.pending())[0], 5_000, 'the pending propose');
  t.is(p.advice, 'accept');
  const refused = host.svc.refuse(p.nid, RefuseReason.price);
  t.is(refused.state, 'refused');
  const r = await negotiating;
  t.is(r.outcome, 'refused');
  t.is(r.refusedBy, 'host');
  t.is(r.reason, 'price');
  await rejects(t, () => host.svc.approve(p.nid), 'ENOTFOUND', /no pending negotiation/);
});

test('what the service refuses to do comes out as a domain error with its code', async (t) => {
  const { host, renter, offer } = await market(t);
  const unknown = randomBytes(32).toString('hex');
  await rejects(t, () => renter.svc.contract(unknown), 'ENOTFOUND', /no such contract on chain/);
  await rejects(t, () => renter.svc.contract('xyz'), 'EUSAGE', /contract id must be 32 bytes of hex/);
  await rejects(t, () => renter.svc.negotiate({ offer: unknown, ...ASK }), 'ENOTFOUND', /no live offer/);
  await rejects(t, () => host.svc.negotiate({ offer: offer.hash, ...ASK }), 'EUSAGE', /this node's own offer/);
  await rejects(t, () => renter.svc.negotiate({ offer: offer.hash, size: 1, duration: 1 }), 'EUSAGE', /too small/);
  await rejects(t, () => renter.svc.withdrawOffer(), 'ENOTFOUND', /no live offer/);
  await rejects(t, () => renter.svc.setHost({ mode: 'sometimes' as 'auto' }), 'EUSAGE', /mode must be auto or manual/);
  await rejects(t, () => renter.svc.listOffers({ sort: 'age' }), 'EUSAGE', /sort must be one of/);
  await rejects(t, () => renter.svc.approve(unknown), 'ENOTFOUND', /no pending negotiation/);
  await rejects(t, () => renter.svc.rate(unknown, 5), 'ENOTFOUND', /only a funded contract can be rated/);
  await rejects(t, () => renter.svc.settle(unknown), 'ENOTFOUND', /no such contract on chain/);
  await rejects(t, () => renter.svc.putRecord(Buffer.from('cc')), 'ELOCKED', /no wallet passphrase/);
  const err = await t.throwsAsync(async () => renter.svc.putRecord(Buffer.from('cc')));
  t.is((err as CloudCoinError).exitCode, ExitCode.auth);
});

test('with the wallet passphrase a record goes out in output 0 of a wallet transaction', async (t) => {
  const { node, svc, identity } = await start(t, { passphrase: 'secret' });
  const rating = new RatingRecord({ contractId: randomBytes(32), raterKey: identity.publicKey, score: 4, comment: 'ok' }).sign(identity.secretKey);
  const txid = await svc.putRecord(Buffer.from(rating.encode()));
  t.deepEqual(node.wallet.sent.map((tx) => tx.txid()), [txid]);
  t.deepEqual(node.wallet.sent[0].outputs[0].script.getNulldata(), Buffer.from(rating.encode()));
});

test('a malformed message costs its sender ban score; at 100 the receiving node drops it', async (t) => {
  const { host, renter } = await market(t);
  const [toHost] = renter.node.peers();
  const [fromRenter] = host.node.peers();
  const truncated = Buffer.from(offerBy(generateKeyPair(), Math.floor(Date.now() / 1000)).encode()).subarray(0, 60);
  renter.node.send(toHost, 'ccoffer', truncated);
  await waitFor(() => host.node.banScore(fromRenter) > 0, 5_000, 'the ban score');
  t.is(host.node.banScore(fromRenter), 100, 'malformed: 100');
  t.deepEqual(host.node.peers(), []);
  t.deepEqual(renter.node.peers(), [], 'both ends see the connection close');
  t.is((await host.svc.listOffers()).length, 1, 'the host keeps only its own offer');
});

test('a renter with no peer but the one that relayed the offer dials the host at the offer\'s address, and the negotiation ends funded', async (t) => {
  const address = `10.7.0.${1 + (randomBytes(1)[0] % 200)}:48444`;
  const host = await startService(t, { funder: walletOf(party()), address });
  const relay = await start(t);
  const renter = await start(t, { funder: walletOf(party()) });
  MemoryNodeAdapter.connect(host.node, relay.node);
  MemoryNodeAdapter.connect(relay.node, renter.node);
  const offer = await host.svc.createOffer({ ...OFFER, host: { capacity: 100 * GiB } });
  t.deepEqual(offer.addresses, [address], 'the node\'s address goes into its offer');
  await waitFor(async () => (await renter.svc.listOffers()).length === 1, 5_000, 'the offer at the renter, through the relay');
  t.deepEqual((await renter.svc.listOffers())[0].addresses, [address]);
  const r = await renter.svc.negotiate({ offer: offer.hash, ...ASK, timeout: 10_000 });
  t.is(r.outcome, 'funded');
  t.deepEqual(renter.node.dialled, [address]);
});
