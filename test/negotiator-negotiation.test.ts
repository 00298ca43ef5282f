import test from 'ava';
import { BanScore } from '../src/lib/net/errors.js';
import { OfferPacket } from '../src/lib/net/offer.js';
import type { NegotiationPacket } from '../src/lib/net/packet.js';
import { ProposePacket } from '../src/lib/net/propose.js';
import { RefusePacket, RefuseReason } from '../src/lib/net/refuse.js';
import { AcceptPacket } from '../src/lib/net/accept.js';
import { FundSigPacket } from '../src/lib/net/fundsig.js';
import type { FundingPart } from '../src/lib/net/funding.js';
import { FundingOutput } from '../src/lib/negotiator/escrow.js';
import { Negotiation } from '../src/lib/negotiator/negotiation.js';
import { Negotiator, type HostOptions } from '../src/lib/negotiator/negotiator.js';
import { OfferPool } from '../src/lib/negotiator/offerpool.js';
import { HostPolicy, type HostLimits } from '../src/lib/negotiator/policy.js';
import { ContractRecord, signTerms } from '../src/lib/negotiator/records.js';
import {
  ASK, HOST_LIMITS, RENTER_LIMITS, party, playOut, throwsProtocol, walletOf, wire, world as makeWorld, type World,
} from './negotiator-fixtures.js';

const NOW = 1_800_000_000;
const GIB = 1024 ** 3;
const LIMITS = HOST_LIMITS;

function world(host: Partial<HostOptions> = {}, limits: Partial<HostLimits> = {}, load = { bytes: 0, contracts: 0, height: 100 }): Promise<World> {
  return makeWorld(NOW, host, limits, load);
}

function converse(w: World, first: NegotiationPacket[], toHost = true) {
  return playOut(w, first, NOW, toHost);
}

test('accept path: propose → accept → sign → fund → fundsig gives a verified funding transaction with the record', async (t) => {
  const w = await world();
  const { send, negotiation } = w.r.propose(w.offer, ASK, RENTER_LIMITS, NOW);
  const { tx, log } = await converse(w, send);
  t.deepEqual(log, ['ccpropose', 'ccaccept', 'ccsign', 'ccfund', 'ccfundsig']);
  t.truthy(tx);
  t.true(tx!.verify());
  const record = ContractRecord.decode(tx!.outputs[FundingOutput.RECORD].script.getNulldata()!);
  t.true(record.verify());
  t.deepEqual(record.id(), negotiation.contractId());
  t.is(negotiation.state, 'funded');
  t.is(w.h.get(negotiation.nid)?.state, 'funded');
});

test('counter path: a price under the offer is countered at the offer price and accepted within the renter limits', async (t) => {
  const w = await world();
  const { send, negotiation } = w.r.propose(w.offer, { ...ASK, price: 80_000 }, RENTER_LIMITS, NOW);
  const { tx, log } = await converse(w, send);
  t.deepEqual(log, ['ccpropose', 'cccounter', 'ccaccept', 'ccsign', 'ccfund', 'ccfundsig']);
  t.true(tx!.verify());
  t.is(negotiation.terms.price, 100_000);
});

test('counter refused: a counter above the renter maximum price ends with ccrefuse(price)', async (t) => {
  const w = await world({}, { priceFloor: 200_000 });
  const { send, negotiation } = w.r.propose(w.offer, ASK, RENTER_LIMITS, NOW);
  const { tx, log } = await converse(w, send);
  t.deepEqual(log, ['ccpropose', 'cccounter', 'ccrefuse']);
  t.is(tx, undefined);
  t.is(negotiation.refusal, RefuseReason.price);
  t.is(w.h.get(negotiation.nid)?.state, 'refused');
});

test('refusal path: a host at capacity, at its contract limit, or asked to start in the past refuses', async (t) => {
  for (const [limits, load, reason] of [
    [{}, { bytes: 100 * GIB, contracts: 0, height: 100 }, RefuseReason.capacity],
    [{ maxContracts: 1 }, { bytes: 0, contracts: 1, height: 100 }, RefuseReason.contracts],
    [{}, { bytes: 0, contracts: 0, height: 101 }, RefuseReason.range],
  ] as const) {
    const w = await world({}, limits, load);
    const { send, negotiation } = w.r.propose(w.offer, ASK, RENTER_LIMITS, NOW);
    const { log } = await converse(w, send);
    t.deepEqual(log, ['ccpropose', 'ccrefuse']);
    t.is(negotiation.refusal, reason);
  }
});

test('capacity held by open negotiations counts: a second propose beyond the room left is countered smaller', async (t) => {
  const w = await world({ mode: 'auto' }, { capacity: 15 * GIB });
  const a = w.r.propose(w.offer, ASK, RENTER_LIMITS, NOW);
  await w.h.handle(wire(a.send[0]), NOW); // accepted: 10 GiB reserved
  const b = w.r.propose(w.offer, ASK, RENTER_LIMITS, NOW);
  const out = await w.h.handle(wire(b.send[0]), NOW);
  t.is(out.send[0].cmd, 'cccounter');
  t.is(out.negotiation.terms.size, 5 * GIB);
});

test('expired offer: the renter cannot propose; a host without the offer refuses(offer)', async (t) => {
  const w = await world();
  t.throws(() => w.r.propose(w.offer, ASK, RENTER_LIMITS, NOW + 4000), { message: /expired/ });
  const later = NOW + 3700; // the offer has expired, the propose has not
  const { send } = w.r.propose(w.offer, ASK, RENTER_LIMITS, NOW);
  const p = new ProposePacket({ ...send[0], expiry: later + 60 }, (send[0] as ProposePacket).offerHash, (send[0] as ProposePacket).terms).sign(w.renter.id.secretKey);
  const out = await w.h.handle(wire(p), later);
  t.is((out.send[0] as RefusePacket).reason, RefuseReason.offer);
});

test('an expired or too-far-ahead message is rejected with the expired score', async (t) => {
  const w = await world();
  const { send } = w.r.propose(w.offer, ASK, RENTER_LIMITS, NOW);
  await throwsProtocol(t, () => w.h.handle(wire(send[0]), NOW + 601), 'expired', BanScore.expired);
  const p = send[0] as ProposePacket;
  const far = new ProposePacket({ ...p, expiry: NOW + 7200 }, p.offerHash, p.terms).sign(w.renter.id.secretKey);
  await throwsProtocol(t, () => w.h.handle(wire(far), NOW), 'expired', BanScore.expired);
  t.is(w.h.list().length, 0);
});

test('replays and splices are rejected and change nothing', async (t) => {
  const w = await world();
  const { send, negotiation } = w.r.propose(w.offer, ASK, RENTER_LIMITS, NOW);
  const accept = (await w.h.handle(wire(send[0]), NOW)).send[0];
  await throwsProtocol(t, () => w.h.handle(wire(send[0]), NOW), 'replay', BanScore.replay);
  const after = await w.r.handle(wire(accept), NOW);
  const state = negotiation.state;
  await throwsProtocol(t, () => w.r.handle(wire(accept), NOW), 'replay', BanScore.replay);
  t.is(negotiation.state, state);

  // A message of another negotiation, re-addressed, does not follow this one's chain.
  const other = await world();
  const o = other.r.propose(other.offer, ASK, RENTER_LIMITS, NOW);
  const otherAccept = (await other.h.handle(wire(o.send[0]), NOW)).send[0] as AcceptPacket;
  const spliced = new AcceptPacket({ ...otherAccept, nid: negotiation.nid, seq: 5 }, otherAccept.contractSig).sign(w.host.id.secretKey);
  await throwsProtocol(t, () => w.r.handle(wire(spliced), NOW), 'splice', BanScore.splice);
  t.is(negotiation.state, state);
  t.true(after.send.length > 0);

  const unknown = new AcceptPacket({ ...otherAccept, nid: Buffer.alloc(32, 9) }, otherAccept.contractSig).sign(w.host.id.secretKey);
  await throwsProtocol(t, () => w.r.handle(wire(unknown), NOW), 'unknown-negotiation', BanScore.splice);
});

test('forged signatures cost the bad-signature score: on the message, and on the contract terms', async (t) => {
  const w = await world();
  const { send } = w.r.propose(w.offer, ASK, RENTER_LIMITS, NOW);
  const p = send[0] as ProposePacket;
  const forged = new ProposePacket(p, p.offerHash, p.terms).sign(party().id.secretKey);
  await throwsProtocol(t, () => w.h.handle(wire(forged), NOW), 'bad-signature', BanScore.badSignature);
  t.is(w.h.list().length, 0);

  const { send: s2, negotiation } = w.r.propose(w.offer, ASK, RENTER_LIMITS, NOW);
  const accept = (await w.h.handle(wire(s2[0]), NOW)).send[0] as AcceptPacket;
  const wrongKey = new AcceptPacket(accept, accept.contractSig).sign(party().id.secretKey);
  await throwsProtocol(t, () => w.r.handle(wire(wrongKey), NOW), 'bad-signature', BanScore.badSignature);
  const badTerms = new AcceptPacket(accept, signTerms({ ...negotiation.terms, price: 1 }, w.host.id.secretKey)).sign(w.host.id.secretKey);
  await throwsProtocol(t, () => w.r.handle(wire(badTerms), NOW), 'bad-signature', BanScore.badSignature);
  t.is(negotiation.state, 'proposed');
  t.is((await w.r.handle(wire(accept), NOW)).send[0].cmd, 'ccsign', 'the genuine accept still goes through');
});

test('manual mode: proposes wait as pending; approve continues, refuse ends; approving too late fails', async (t) => {
  const w = await world({ mode: 'manual' });
  const a = w.r.propose(w.offer, ASK, RENTER_LIMITS, NOW);
  t.deepEqual((await w.h.handle(wire(a.send[0]), NOW)).send, []);
  t.is(w.h.pending().length, 1);
  t.deepEqual(await w.h.advise(a.negotiation.nid, NOW), { action: 'accept' });
  const approved = w.h.approve(a.negotiation.nid, NOW);
  const { tx } = await converse(w, approved.send, false);
  t.true(tx!.verify());

  const b = w.r.propose(w.offer, ASK, RENTER_LIMITS, NOW);
  await w.h.handle(wire(b.send[0]), NOW);
  const refused = w.h.refuse(b.negotiation.nid, NOW, RefuseReason.other);
  await converse(w, refused.send, false);
  t.is(b.negotiation.state, 'refused');

  const c = w.r.propose(w.offer, ASK, RENTER_LIMITS, NOW);
  await w.h.handle(wire(c.send[0]), NOW);
  t.throws(() => w.h.approve(c.negotiation.nid, NOW + 601), { message: /expired/ });
  t.is(await w.h.expire(NOW + 601), 3);
});

test('a funding fee above the host maximum is refused(funding); the renter coins are released', async (t) => {
  const w = await world({}, { maxFee: 100 });
  const released: FundingPart[] = [];
  w.r = new Negotiator({ identity: w.renter.id, offers: new OfferPool(), wallet: { ...walletOf(w.renter), release: (s) => { released.push(s); } } });
  const { send, negotiation } = w.r.propose(w.offer, ASK, RENTER_LIMITS, NOW);
  const { log, tx } = await converse(w, send);
  t.deepEqual(log, ['ccpropose', 'ccaccept', 'ccsign', 'ccfund', 'ccrefuse']);
  t.is(tx, undefined);
  t.is(negotiation.refusal, RefuseReason.funding);
  t.is(released.length, 1);
});

test('forgetting a negotiation releases the coins our wallet handed out for it', async (t) => {
  const w = await world();
  const released: FundingPart[] = [];
  w.h = new Negotiator({
    identity: w.host.id, offers: w.pool, wallet: { ...walletOf(w.host), release: (s) => { released.push(s); } },
    host: { policy: new HostPolicy(LIMITS), mode: 'auto', load: () => ({ bytes: 0, contracts: 0, height: 100 }) },
  });
  const { send } = w.r.propose(w.offer, ASK, RENTER_LIMITS, NOW);
  // The renter never completes: stop after the host's ccfundsig.
  const accept = (await w.h.handle(wire(send[0]), NOW)).send;
  const [sign, fund] = (await w.r.handle(wire(accept[0]), NOW)).send;
  await w.h.handle(wire(sign), NOW);
  t.is((await w.h.handle(wire(fund), NOW)).send[0].cmd, 'ccfundsig');
  t.is(await w.h.expire(NOW + 599), 0);
  t.is(released.length, 0);
  t.is(await w.h.expire(NOW + 601), 1);
  t.is(released.length, 1);
});

test('Negotiation alone: only the side whose turn it is may act', async (t) => {
  const renter = party();
  const host = party();
  const offer = OfferPacket.withdrawal(host.id.publicKey, 1, NOW + 100);
  const { negotiation } = Negotiation.propose(renter.id.secretKey, offer, ASK, NOW);
  t.throws(() => negotiation.accept(NOW), { message: /own terms/ });
  t.throws(() => negotiation.counter(ASK, NOW), { message: /only the host/ });
  await throwsProtocol(t, () => negotiation.receive(new RefusePacket({ nid: negotiation.nid, seq: 1, prev: Buffer.alloc(32), expiry: NOW + 10 }, 0), NOW), 'replay', BanScore.replay);
});

test('a ccfundsig with a witness that does not verify costs bad-signature and leaves the renter waiting', async (t) => {
  const w = await world();
  const { send, negotiation } = w.r.propose(w.offer, ASK, RENTER_LIMITS, NOW);
  const accept = (await w.h.handle(wire(send[0]), NOW)).send[0];
  const [sign, fund] = (await w.r.handle(wire(accept), NOW)).send;
  await w.h.handle(wire(sign), NOW);
  const fundsig = (await w.h.handle(wire(fund), NOW)).send[0] as FundSigPacket;
  const badWitness = fundsig.witnesses.map((items) => items.map((x, i) => (i === 0 ? Buffer.alloc(x.length, 0x30) : x)));
  const forged = new FundSigPacket(fundsig, fundsig.part, badWitness).sign(w.host.id.secretKey);
  await throwsProtocol(t, () => w.r.handle(wire(forged), NOW), 'bad-signature', BanScore.badSignature);
  t.is(negotiation.state, 'funding');
  t.true((await w.r.handle(wire(fundsig), NOW)).tx!.verify(), 'the genuine ccfundsig still completes');
});

test('open negotiations are bounded: per address group (flood) and in total (busy)', async (t) => {
  const w = await world();
  const h = new Negotiator({
    identity: w.host.id, wallet: walletOf(w.host), offers: new OfferPool(), maxOpen: 3, maxOpenPerGroup: 2,
    host: { policy: new HostPolicy(LIMITS), mode: 'manual', load: () => ({ bytes: 0, contracts: 0, height: 100 }) },
  });
  const propose = () => wire(w.r.propose(w.offer, ASK, RENTER_LIMITS, NOW).send[0]);
  await h.handle(propose(), NOW, 'a');
  await h.handle(propose(), NOW, 'a');
  await throwsProtocol(t, () => h.handle(propose(), NOW, 'a'), 'flood', BanScore.flood);
  await h.handle(propose(), NOW, 'b');
  await throwsProtocol(t, () => h.handle(propose(), NOW, 'c'), 'busy', BanScore.none);
  t.is(h.list().length, 3);
});

test('the host signs only its own inputs, even when the renter lists one of the host coins as its share', async (t) => {
  const w = await world();
  const asked: number[][] = [];
  const hostWallet = walletOf(w.host);
  const h = new Negotiator({
    identity: w.host.id, offers: w.pool,
    wallet: { share: hostWallet.share, sign: (mtx, inputs) => { asked.push(inputs); return hostWallet.sign(mtx, inputs); } },
    host: { policy: new HostPolicy(LIMITS), mode: 'auto', load: () => ({ bytes: 0, contracts: 0, height: 100 }) },
  });
  // A renter whose "share" is a coin paying to the host's wallet.
  const thief = new Negotiator({ identity: w.renter.id, wallet: { ...walletOf(w.host), sign: () => undefined }, offers: new OfferPool() });
  const { send } = thief.propose(w.offer, ASK, RENTER_LIMITS, NOW);
  const accept = (await h.handle(wire(send[0]), NOW)).send[0];
  const [sign, fund] = (await thief.handle(wire(accept), NOW)).send;
  await h.handle(wire(sign), NOW);
  const out = await h.handle(wire(fund), NOW);
  t.is(out.send[0].cmd, 'ccfundsig');
  t.deepEqual(asked, [[1]], 'input 0 (the renter share) is never offered to the host wallet');
});

test('a wallet failure is ours: the negotiation is refused(funding), the error comes back, nothing is thrown', async (t) => {
  const w = await world();
  const broke = new Negotiator({
    identity: w.renter.id, offers: new OfferPool(),
    wallet: { share: async () => { throw new Error('insufficient funds'); }, sign: () => undefined },
  });
  const { send, negotiation } = broke.propose(w.offer, ASK, RENTER_LIMITS, NOW);
  const accept = (await w.h.handle(wire(send[0]), NOW)).send[0];
  const out = await broke.handle(wire(accept), NOW);
  t.is(out.error?.message, 'insufficient funds');
  t.deepEqual(out.send.map((p) => p.cmd), ['ccsign', 'ccrefuse']);
  t.is(negotiation.refusal, RefuseReason.funding);
  for (const p of out.send) await w.h.handle(wire(p), NOW);
  t.is(w.h.get(negotiation.nid)?.state, 'refused');
});
