/**
 * A host's capacity against renters who pay nothing, on a real dev node: a
 * raw P2P peer in this process plays the renter, with a key of its own.
 * A ccfund of made-up coins makes the host reserve and sign nothing and
 * costs the peer ban score; reconnecting does not reset the limit of
 * unfunded negotiations per address group; an unfunded reservation stops
 * counting against the host's contracts once its hold is over (60 s by
 * default; the node runs that test with a hold of 8 s).
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { generateKeyPair } from '../src/lib/crypto/sig.js';
import type { NegotiationPacket } from '../src/lib/net/packet.js';
import { decode } from '../src/lib/net/packets.js';
import { OfferPacket } from '../src/lib/net/offer.js';
import { RefusePacket, RefuseReason } from '../src/lib/net/refuse.js';
import { escrowValue, feeShares } from '../src/lib/negotiator/escrow.js';
import { DEFAULT_HOLD } from '../src/lib/negotiator/holds.js';
import { Negotiation } from '../src/lib/negotiator/negotiation.js';
import { serviceSettings } from '../src/lib/negotiator/node/extension.js';
import { frame, rawPeer, versionPayload, type RawPeer } from './util/p2p.js';
import { waitFor, type DevNode } from './util/devnode.js';
import { Network, heightOf, identity, mine, ok } from './contract-util.js';

const net = new Network();
let H: DevNode;

const now = () => Math.floor(Date.now() / 1000);

/** The hold H runs the hold test with: short, so the test need not wait out the default. */
const HOLD = 8;

/** A renter peer that has finished its handshake, from `local` (a loopback address of its own). */
async function renterPeer(local: string): Promise<RawPeer> {
  const p = await rawPeer(H.port, local);
  p.write(frame('dev', 'version', versionPayload()));
  p.write(frame('dev', 'verack', Buffer.alloc(0)));
  await p.arrived(Buffer.from('ccinv'));
  return p;
}

/** The cc* messages the node sent on `p` so far, in order. */
function received(p: RawPeer): NegotiationPacket[] {
  const bytes = p.received();
  const out: NegotiationPacket[] = [];
  for (let at = 0; at + 24 <= bytes.length;) {
    const cmd = bytes.subarray(at + 4, at + 16).toString('ascii').replace(/\0+$/, '');
    const len = bytes.readUInt32LE(at + 16);
    if (at + 24 + len > bytes.length) break;
    if (cmd.startsWith('cc') && cmd !== 'ccinv' && cmd !== 'ccoffer' && cmd !== 'ccgetoffer') {
      out.push(decode(cmd, bytes.subarray(at + 24, at + 24 + len)) as NegotiationPacket);
    }
    at += 24 + len;
  }
  return out;
}

/** The node's answer in negotiation `nid`, at position `seq`. */
async function answer(p: RawPeer, nid: Buffer, seq: number): Promise<NegotiationPacket> {
  const found = await waitFor(() => received(p).find((m) => nid.equals(m.nid) && m.seq === seq), 30_000, `the host's message ${seq} in ${nid.toString('hex').slice(0, 8)}`);
  return found!;
}

/** The host's live offer, rebuilt byte for byte (RFC 6979 signatures). */
async function currentOffer(): Promise<OfferPacket> {
  const [o] = (await ok(H, ['contract', 'offers'])).offers;
  return new OfferPacket({
    flags: 0, hostKey: identity(H).publicKey, sequence: o.sequence, expiry: o.expiry, price: o.price, collateral: o.collateral,
    minSize: o.minSize, maxSize: o.maxSize, minDuration: o.minDuration, maxDuration: o.maxDuration, url: o.url, addresses: o.addresses,
  }).sign(identity(H).secretKey);
}

/** A new offer and policy (the node keeps a flag not given at its last value). */
async function setPolicy(maxContracts: number): Promise<OfferPacket> {
  const r = await ok(H, ['contract', 'offer', '--price', '0.001', '--collateral', '0.002', '--min-duration', '10', '--url', 'http://127.0.0.1:9000',
    '--capacity', '10TiB', '--max-contracts', String(maxContracts)]);
  const offer = await currentOffer();
  if (offer.hash().toString('hex') !== r.offer.hash) throw new Error('offer rebuilt differently');
  return offer;
}

/** Opens a negotiation from a fresh renter key on `p`: the host's first answer, and our ccsign to an accept (not sent). */
async function propose(p: RawPeer, offer: OfferPacket): Promise<{ n: Negotiation; reply: NegotiationPacket; sign: NegotiationPacket | null }> {
  const terms = { size: 10 * 1024 ** 3, duration: 40, startHeight: (await heightOf(H)) + 1, price: offer.price, collateral: offer.collateral };
  const { negotiation: n, packet } = Negotiation.propose(generateKeyPair().secretKey, offer, terms, now());
  p.write(frame('dev', 'ccpropose', Buffer.from(packet.encode())));
  const reply = await answer(p, n.nid, 2);
  const sign = reply.cmd === 'ccrefuse' ? null : n.receive(reply, now());
  return { n, reply, sign };
}

/** Restarts H with CLOUDCOIN_NEGOTIATION_HOLD set to `seconds` in its environment, or with none (the default hold). */
async function restartWithHold(seconds: number | null): Promise<void> {
  await H.stop();
  if (seconds !== null) process.env.CLOUDCOIN_NEGOTIATION_HOLD = String(seconds);
  try {
    await H.start();
  } finally {
    delete process.env.CLOUDCOIN_NEGOTIATION_HOLD;
  }
}

async function banOf(address: string): Promise<number> {
  const peers = (await ok(H, ['node', 'peers'])).peers as { address: string; banScore: number }[];
  return peers.find((x) => x.address.startsWith(`${address}:`))?.banScore ?? -1;
}

test.before(async () => {
  H = await net.node();
  await mine(H, 101, net.nodes);
});

test.after.always(async () => {
  await net.stop();
});

test('the hold is 60 s unless the daemon\'s environment sets CLOUDCOIN_NEGOTIATION_HOLD', (t) => {
  t.is(DEFAULT_HOLD, 60);
  t.is(serviceSettings({}).holdSeconds, undefined, 'the Negotiator then holds DEFAULT_HOLD');
  t.is(serviceSettings({ CLOUDCOIN_NEGOTIATION_HOLD: String(HOLD) }).holdSeconds, HOLD);
  for (const bad of ['0', '-5', '1.5', 'soon']) t.throws(() => serviceSettings({ CLOUDCOIN_NEGOTIATION_HOLD: bad }), { message: /CLOUDCOIN_NEGOTIATION_HOLD/ }, bad);
});

test.serial(`an unfunded reservation stops counting against the host's contracts after its hold (${HOLD} s here)`, async (t) => {
  // The other tests keep the default hold: 16 proposes in a row must all still be held when the 17th comes.
  await restartWithHold(HOLD);
  t.teardown(() => restartWithHold(null));
  const offer = await setPolicy(1);
  const p = await renterPeer('127.0.0.11');
  const asked = Date.now();
  const first = await propose(p, offer);
  t.is(first.reply.cmd, 'ccaccept', 'the first propose takes the one contract slot');
  const second = await propose(p, offer);
  t.is((second.reply as RefusePacket).reason, RefuseReason.contracts, 'the slot is held: refused(contracts)');
  // Never funded: once the hold is over the slot is free again.
  const later = await waitFor(async () => {
    const r = await propose(p, offer);
    return r.reply.cmd === 'ccaccept' ? r : null;
  }, (HOLD + 120) * 1000, 'a propose accepted again', 1_000);
  t.is(later!.reply.cmd, 'ccaccept');
  const held = Date.now() - asked;
  t.true(held >= (HOLD - 1) * 1000, `not before the hold was over (${held} ms)`);
  t.true(held < DEFAULT_HOLD * 1000, `the hold the environment set, not the default (${held} ms)`);
  t.is(await banOf('127.0.0.11'), 0, 'a policy refusal costs nothing');
  p.close();
});

test.serial('a ccfund of made-up coins: the host reserves and signs nothing, refuses, and scores the peer', async (t) => {
  const offer = await setPolicy(100);
  const p = await renterPeer('127.0.0.12');
  const { n, reply, sign } = await propose(p, offer);
  t.is(reply.cmd, 'ccaccept');
  // Both sign the terms, then the renter funds with a coin no chain holds.
  p.write(frame('dev', 'ccsign', Buffer.from(sign!.encode())));
  const fee = 2000;
  const amount = escrowValue(n.terms, 'payment') + feeShares(fee).renter;
  const share = {
    coins: [{ hash: randomBytes(32), index: 0, value: amount + 50_000, script: Buffer.concat([Buffer.from([0, 20]), randomBytes(20)]) }],
    changeScript: Buffer.concat([Buffer.from([0, 20]), randomBytes(20)]),
    changeValue: 50_000,
  };
  const fund = n.fund(share, fee, now());
  p.write(frame('dev', 'ccfund', Buffer.from(fund.encode())));
  const refusal = await answer(p, n.nid, fund.seq + 1);
  t.is(refusal.cmd, 'ccrefuse');
  t.is((refusal as RefusePacket).reason, RefuseReason.funding);
  t.false(received(p).some((m) => m.cmd === 'ccfundsig'), 'no ccfundsig: nothing signed');
  const locked = await fetch(`http://127.0.0.1:${H.walletPort}/wallet/primary/locked`, {
    headers: { authorization: 'Basic ' + Buffer.from(`x:${H.apiKey()}`).toString('base64') },
  }).then((r) => r.json());
  t.deepEqual(locked, [], 'no coin of the host locked');
  t.is(await waitFor(async () => ((await banOf('127.0.0.12')) > 0 ? banOf('127.0.0.12') : null), 10_000, 'a ban score'), 20, 'bad-funding: 20');
  p.close();
});

test.serial('reconnecting does not reset the limit of unfunded negotiations per address group; another group has its own', async (t) => {
  const offer = await setPolicy(100);
  let p = await renterPeer('127.0.0.13');
  for (let i = 0; i < 16; i++) {
    if (i === 8) {
      p.close();
      p = await renterPeer('127.0.0.13');
    }
    t.is((await propose(p, offer)).reply.cmd, 'ccaccept', `propose ${i + 1}`);
  }
  p.close();
  const again = await renterPeer('127.0.0.13');
  const terms = { size: 10 * 1024 ** 3, duration: 40, startHeight: (await heightOf(H)) + 1, price: offer.price, collateral: offer.collateral };
  const { negotiation, packet } = Negotiation.propose(generateKeyPair().secretKey, offer, terms, now());
  again.write(frame('dev', 'ccpropose', Buffer.from(packet.encode())));
  t.is(await waitFor(async () => ((await banOf('127.0.0.13')) > 0 ? banOf('127.0.0.13') : null), 10_000, 'a ban score'), 20, 'the 17th: flood, 20');
  t.false(received(again).some((m) => negotiation.nid.equals(m.nid)), 'and no answer');
  const other = await renterPeer('127.0.0.14');
  t.is((await propose(other, offer)).reply.cmd, 'ccaccept', 'another address group is not limited by the first');
  again.close();
  other.close();
});
