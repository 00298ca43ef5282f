/**
 * The host's holds (src/lib/negotiator/holds.ts) in one process, at chosen
 * clock times: a late ccfund, one coin in two ccfunds, and a cosigned
 * negotiation whose funding never goes out.
 */
import test from 'ava';
import { BanScore } from '../src/lib/net/errors.js';
import type { FundingCoin, FundingPart } from '../src/lib/net/funding.js';
import type { NegotiationPacket } from '../src/lib/net/packet.js';
import { RefuseReason } from '../src/lib/net/refuse.js';
import { DEFAULT_HOLD } from '../src/lib/negotiator/holds.js';
import { Negotiator, type FundingWallet } from '../src/lib/negotiator/negotiator.js';
import { OfferPool } from '../src/lib/negotiator/offerpool.js';
import { HostPolicy } from '../src/lib/negotiator/policy.js';
import { ASK, HOST_LIMITS, RENTER_LIMITS, offerBy, party, throwsProtocol, walletOf, wire, type Party } from './negotiator-fixtures.js';

const NOW = 1_800_000_000;

interface Setup {
  host: Negotiator;
  renter: Negotiator;
  offer: ReturnType<typeof offerBy>;
  released: FundingPart[];
  shares: number;
  spent: Set<string>;
}

/** A host that takes `maxContracts`, whose UTXO set holds every coin but those in `spent`, and a renter (with `renterWallet`). */
async function setup(maxContracts = 1, renterWallet?: (p: Party) => FundingWallet): Promise<Setup> {
  const hostP = party();
  const renterP = party();
  const pool = new OfferPool();
  const offer = offerBy(hostP.id, NOW);
  await pool.add(offer, NOW);
  const s: Setup = { host: null!, renter: null!, offer, released: [], shares: 0, spent: new Set() };
  const wallet = walletOf(hostP);
  s.host = new Negotiator({
    identity: hostP.id, offers: pool,
    wallet: { ...wallet, share: (amount) => { s.shares++; return wallet.share(amount); }, release: (share) => { s.released.push(share); } },
    host: { policy: new HostPolicy({ ...HOST_LIMITS, maxContracts }), mode: 'auto', load: () => ({ bytes: 0, contracts: 0, height: 100 }) },
    unspent: async (c: FundingCoin) => !s.spent.has(Buffer.from(c.hash).toString('hex')),
  });
  s.renter = new Negotiator({ identity: renterP.id, wallet: (renterWallet ?? walletOf)(renterP), offers: new OfferPool() });
  return s;
}

/** Runs a negotiation up to the renter's ccfund, at `now`: the ccfund (not delivered). */
async function upToFund(s: Setup, now: number, group = 'g'): Promise<NegotiationPacket> {
  const { send } = s.renter.propose(s.offer, ASK, RENTER_LIMITS, now);
  const accept = (await s.host.handle(wire(send[0]), now, group)).send;
  const [sign, fund] = (await s.renter.handle(wire(accept[0]), now)).send;
  await s.host.handle(wire(sign), now, group);
  return fund;
}

test(`a ccfund after the ${DEFAULT_HOLD} s hold is refused(funding) without a share; the slot was free again meanwhile`, async (t) => {
  const s = await setup();
  const fund = await upToFund(s, NOW);
  const other = s.renter.propose(s.offer, ASK, RENTER_LIMITS, NOW + 1).send[0];
  t.is((await s.host.handle(wire(other), NOW + 1, 'h')).send[0].cmd, 'ccrefuse', 'the one slot is held');
  const late = NOW + DEFAULT_HOLD + 1;
  const third = s.renter.propose(s.offer, ASK, RENTER_LIMITS, late).send[0];
  t.is((await s.host.handle(wire(third), late, 'h')).send[0].cmd, 'ccaccept', 'the hold is over: the slot is free');
  const out = await s.host.handle(wire(fund), late, 'g');
  t.deepEqual(out.send.map((p) => p.cmd), ['ccrefuse']);
  t.is(out.negotiation.refusal, RefuseReason.funding);
  t.is(s.shares, 0, 'the host wallet was not asked for coins');
});

test('one coin in two ccfunds: the second is refused and is the peer\'s fault (bad-funding)', async (t) => {
  // A renter whose wallet hands out the same coin every time.
  const s = await setup(10, (p) => {
    const wallet = walletOf(p);
    let one: FundingPart | null = null;
    return { ...wallet, share: async (amount) => {
      one ??= await wallet.share(10_000_000);
      return { ...one, changeValue: one.coins[0].value - amount };
    } };
  });
  const first = await upToFund(s, NOW);
  const second = await upToFund(s, NOW);
  t.is((await s.host.handle(wire(first), NOW, 'g')).send[0].cmd, 'ccfundsig');
  const out = await s.host.handle(wire(second), NOW, 'g');
  t.deepEqual(out.send.map((p) => p.cmd), ['ccrefuse']);
  t.is(out.fault?.reason, 'bad-funding');
  t.is(out.fault?.score, BanScore.splice);
  t.regex(out.fault!.message, /already in another negotiation/);
});

test('a made-up coin: ccrefuse(funding) and bad-funding, and no share taken', async (t) => {
  const s = await setup();
  const fund = await upToFund(s, NOW);
  for (const c of (wire(fund) as unknown as { part: FundingPart }).part.coins) s.spent.add(Buffer.from(c.hash).toString('hex'));
  const out = await s.host.handle(wire(fund), NOW, 'g');
  t.deepEqual(out.send.map((p) => p.cmd), ['ccrefuse']);
  t.is(out.fault?.reason, 'bad-funding');
  t.is(s.shares, 0);
});

test('a cosigned negotiation whose funding never goes out lapses after its hold: the host coins come back, the slot is free', async (t) => {
  const s = await setup();
  const fund = await upToFund(s, NOW);
  t.is((await s.host.handle(wire(fund), NOW, 'g')).send[0].cmd, 'ccfundsig');
  t.is(s.shares, 1);
  await s.host.expire(NOW + DEFAULT_HOLD);
  t.is(s.released.length, 0, 'within the hold: kept');
  await s.host.expire(NOW + DEFAULT_HOLD + 1);
  t.is(s.released.length, 1, 'after it, renter coins still unspent: released');
  const next = s.renter.propose(s.offer, ASK, RENTER_LIMITS, NOW + DEFAULT_HOLD + 2).send[0];
  t.is((await s.host.handle(wire(next), NOW + DEFAULT_HOLD + 2, 'g')).send[0].cmd, 'ccaccept');
});

test('a cosigned negotiation whose funding went out keeps its coins and its slot after the hold', async (t) => {
  const s = await setup();
  const fund = await upToFund(s, NOW);
  t.is((await s.host.handle(wire(fund), NOW, 'g')).send[0].cmd, 'ccfundsig');
  for (const c of (wire(fund) as unknown as { part: FundingPart }).part.coins) s.spent.add(Buffer.from(c.hash).toString('hex'));
  await s.host.expire(NOW + DEFAULT_HOLD + 1);
  t.is(s.released.length, 0);
  const next = s.renter.propose(s.offer, ASK, RENTER_LIMITS, NOW + DEFAULT_HOLD + 2).send[0];
  t.is((await s.host.handle(wire(next), NOW + DEFAULT_HOLD + 2, 'g')).send[0].cmd, 'ccrefuse', 'the slot is still taken');
});

test('an unfunded negotiation is forgotten when its hold ends: only its nid stays, a late message costs nothing, a replay still counts', async (t) => {
  const s = await setup();
  const { send, negotiation } = s.renter.propose(s.offer, ASK, RENTER_LIMITS, NOW);
  const accept = (await s.host.handle(wire(send[0]), NOW, 'g')).send;
  const [sign, fund] = (await s.renter.handle(wire(accept[0]), NOW)).send;
  await s.host.handle(wire(sign), NOW, 'g');
  t.is(await s.host.expire(NOW + DEFAULT_HOLD), 0);
  t.is(await s.host.expire(NOW + DEFAULT_HOLD + 1), 1);
  t.is(s.host.get(negotiation.nid), null);
  await throwsProtocol(t, () => s.host.handle(wire(fund), NOW + DEFAULT_HOLD + 2, 'g'), 'lapsed', BanScore.none);
  await throwsProtocol(t, () => s.host.handle(wire(send[0]), NOW + DEFAULT_HOLD + 2, 'g'), 'replay', BanScore.replay);
});

test('the renter refusing while the host\'s wallet takes its share: no error, no refusal sent back, the share released', async (t) => {
  const s = await setup();
  const fund = await upToFund(s, NOW);
  // The host's wallet holds its answer until the renter's refusal is in.
  let answer!: () => void;
  const held = new Promise<void>((resolve) => (answer = resolve));
  let asked!: () => void;
  const asking = new Promise<void>((resolve) => (asked = resolve));
  const wallet = (s.host as unknown as { wallet: FundingWallet }).wallet;
  const share = wallet.share.bind(wallet);
  wallet.share = async (amount) => {
    asked();
    const part = await share(amount);
    await held;
    return part;
  };
  const handling = s.host.handle(wire(fund), NOW, 'g');
  await asking;
  const nid = (wire(fund) as unknown as { nid: Uint8Array }).nid;
  const refuse = s.renter.get(nid)!.refuse(RefuseReason.other, NOW);
  const refused = await s.host.handle(wire(refuse), NOW, 'g');
  t.is(refused.negotiation.state, 'refused');
  answer();
  const out = await handling;
  t.deepEqual(out.send, [], 'nothing to refuse: the renter already did');
  t.is(out.error, undefined);
  t.is(s.released.length, 1, 'the share the wallet handed out came back');
});
