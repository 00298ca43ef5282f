/**
 * Issue 25 item 3, offer pool flooding, on real dev nodes: a host H with an
 * ended contract on chain (standing > 0) offers; an attacker connects to the
 * renter's node R over P2P and floods it with offers from fresh keys, each
 * expiring as late as the pool allows. Both nodes run with a pool of 100
 * (CLOUDCOIN_MAX_OFFERS; the default is 10,000) so a few thousand offers
 * overflow it many times. The pool counts sources by address group
 * (src/lib/net/netgroup.ts), and each loopback address is a group of its
 * own: each sender that stands for another party connects from its own
 * address.
 */
import test from 'ava';
import { generateKeyPair } from '../src/lib/crypto/sig.js';
import { OfferPacket } from '../src/lib/net/offer.js';
import { offerBy } from './negotiator-fixtures.js';
import { frame, rawPeer, roundTrip, versionPayload } from './util/p2p.js';
import { waitFor, type DevNode } from './util/devnode.js';
import { Network, heightOf, mine, ok } from './contract-util.js';

const POOL = 100;
process.env.CLOUDCOIN_MAX_OFFERS = String(POOL);

const net = new Network();
let R: DevNode;
let H: DevNode;
let hostOffer: string;

const now = () => Math.floor(Date.now() / 1000);
/** The latest expiry the pool takes (30 days ahead), less a margin for the clock. */
const latest = () => now() + 30 * 24 * 3600 - 3600;

/** Offers signed by fresh keys, expiring at `expiry`. */
function freeOffers(n: number, expiry: number): OfferPacket[] {
  return Array.from({ length: n }, () => offerBy(generateKeyPair(), now(), { expiry, sequence: now() }));
}

/** Sends `offers` to R over one new P2P connection from `localAddress`, under the per-connection budget (200), and hangs up once R has read them. */
async function sendFrom(offers: OfferPacket[], localAddress: string): Promise<Set<string>> {
  const p = await rawPeer(R.port, localAddress);
  p.write(frame('dev', 'version', versionPayload()));
  p.write(frame('dev', 'verack', Buffer.alloc(0)));
  await p.arrived(Buffer.from('ccinv'));
  for (const o of offers) p.write(frame('dev', 'ccoffer', Buffer.from(o.encode())));
  await roundTrip(p, 'dev', 60_000);
  p.close();
  return new Set(offers.map((o) => o.hash().toString('hex')));
}

async function listed(node: DevNode): Promise<string[]> {
  return (await ok(node, ['contract', 'offers'])).offers.map((o: any) => o.hash);
}

function countIn(hashes: string[], of: Set<string>): number {
  return hashes.filter((h) => of.has(h)).length;
}

test.before(async () => {
  R = await net.node();
  H = await net.node({ peers: [R] });
  await ok(R, ['node', 'mine', '1', '--address', (await ok(H, ['wallet', 'address'])).address]);
  await mine(R, 110, net.nodes);
  const terms = ['--price', '0.001', '--collateral', '0.002', '--min-duration', '10', '--url', 'http://127.0.0.1:9000', '--capacity', '10TiB'];
  const first = (await ok(H, ['contract', 'offer', ...terms])).offer;
  await waitFor(async () => (await listed(R)).includes(first.hash), 30_000, 'the offer at the renter');
  await ok(R, ['contract', 'accept', first.hash, '--size', '10GiB', '--duration', '10']);
  // The funding block, then past the contract's end: its coins were locked for every block in between.
  await mine(R, 1, net.nodes);
  await mine(R, 12, net.nodes);
  // The standing is read when an offer enters a pool: the host announces again now that it has one.
  hostOffer = (await ok(H, ['contract', 'offer', ...terms])).offer.hash;
  const at = await waitFor(async () => (await ok(R, ['contract', 'offers'])).offers.find((o: any) => o.hash === hostOffer), 30_000, 'the new offer at the renter');
  if (!(at.standing > 0)) throw new Error(`the host's standing is ${at.standing} at height ${await heightOf(R)}`);
});

test.after.always(async () => {
  await net.stop();
});

test.serial('one peer flooding a full pool keeps only what the other sources leave; the host with standing stays', async (t) => {
  const newcomers = await sendFrom(freeOffers(40, now() + 3600), '127.0.0.2');
  // Over two connections from one address: one address group, so one source; as two sources they would push out newcomers.
  const offers = freeOffers(190, latest());
  const flood = new Set([...await sendFrom(offers.slice(0, 95), '127.0.0.3'), ...await sendFrom(offers.slice(95), '127.0.0.3')]);
  // 1 + 40 + 59: the flood fills the pool, then gives way as the largest source.
  const seen = await waitFor(async () => {
    const hashes = await listed(R);
    return hashes.length === POOL && countIn(hashes, flood) === POOL - 41 ? hashes : null;
  }, 60_000, 'a full pool at the renter') as string[];
  t.true(seen.includes(hostOffer));
  t.is(countIn(seen, newcomers), 40, 'offers expiring in an hour were not pushed out by offers expiring in 30 days');
});

test.serial('thousands of offers from fresh keys over many connections: the host with standing stays in every node\'s pool', async (t) => {
  const connections: Set<string>[] = [];
  for (let i = 0; i < 16; i++) connections.push(await sendFrom(freeOffers(190, latest()), `127.0.0.${10 + i}`));
  const last = connections[connections.length - 1];
  const seen = await waitFor(async () => {
    const hashes = await listed(R);
    return hashes.length === POOL && countIn(hashes, last) > 0 ? hashes : null;
  }, 120_000, 'the last connection\'s offers at the renter') as string[];
  const held = connections.map((c) => countIn(seen, c));
  t.log(`3,040 offers over 16 connections; each connection holds ${held.join(', ')} of the renter's ${POOL}`);
  t.true(seen.includes(hostOffer), 'the renter keeps the host\'s offer');
  t.true((await listed(H)).includes(hostOffer), 'the host keeps its own');
  t.true(held.every((n) => n <= POOL - 41), 'no connection holds more than the first flood could');
});
