/**
 * Issue 3 acceptance, the hostile side, on a real dev network: forged
 * signatures, replayed and expired messages, 10,000 random and mutated cc*
 * messages over real P2P connections, a reorganisation that orphans a
 * contract's funding block, and payment revisions (ccpay) forged, replayed,
 * stale or for no contract.
 */
import test from 'ava';
import { randomBytes, randomInt } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { bcoin } from '../src/lib/chain/bcoin.js';
import { getNetwork } from '../src/lib/chain/networks.js';
import { generateKeyPair } from '../src/lib/crypto/sig.js';
import { MAX_OFFER_SIZE, OfferPacket } from '../src/lib/net/offer.js';
import { PayPacket } from '../src/lib/net/pay.js';
import { Negotiation } from '../src/lib/negotiator/negotiation.js';
import { buildSettlement, signSettlement } from '../src/lib/negotiator/settlement.js';
import { samplePackets } from './negotiator-fixtures.js';
import { frame, rawPeer, roundTrip, versionPayload, type RawPeer } from './util/p2p.js';
import { waitFor, waitForLog, type DevNode } from './util/devnode.js';
import { Network, heightOf, identity, mine, ok, recordOf, rpc, synced, txAt } from './contract-util.js';

const net = new Network();
let R: DevNode; // renter
let H: DevNode; // host
let offer: OfferPacket;
let contractId: string;

const now = () => Math.floor(Date.now() / 1000);

/**
 * A raw connection to `node` that the node's Negotiator has taken in: on
 * 'peer open' it announces the live offers it holds (the host's, here) in a ccinv.
 */
async function peerOf(node: DevNode): Promise<RawPeer> {
  const p = await rawPeer(node.port);
  p.write(frame('dev', 'version', versionPayload()));
  p.write(frame('dev', 'verack', Buffer.alloc(0)));
  await p.arrived(Buffer.from('ccinv'));
  return p;
}

/** Sends one message and waits until the node has read it. */
async function send(p: RawPeer, cmd: string, payload: Buffer): Promise<void> {
  p.write(frame('dev', cmd, payload));
  await roundTrip(p, 'dev');
}

/** The test peer as the node sees it (our version message's user agent). */
async function testPeerBan(node: DevNode): Promise<number[]> {
  return (await ok(node, ['node', 'peers'])).peers.filter((p: any) => p.subversion === '/cc-test:0.1/').map((p: any) => p.banScore);
}

/** The test peer's ban score once it is no longer `before`: the extension's handler may finish after the round trip. */
async function banAfter(node: DevNode, before: number[]): Promise<number[]> {
  return waitFor(async () => {
    const ban = await testPeerBan(node);
    return String(ban) === String(before) ? null : ban;
  }, 10_000, `a ban score other than [${before}]`) as Promise<number[]>;
}

/** A propose for the host's offer by a fresh renter key, starting at `startHeight`, sent `age` seconds ago. */
function propose(startHeight: number, age = 0): Buffer {
  const terms = { size: 10 * 1024 ** 3, duration: 40, startHeight, price: offer.price, collateral: offer.collateral };
  return Buffer.from(Negotiation.propose(generateKeyPair().secretKey, offer, terms, now() - age).packet.encode());
}

test.before(async () => {
  R = await net.node();
  H = await net.node({ peers: [R] });
  await ok(R, ['node', 'mine', '1', '--address', (await ok(H, ['wallet', 'address'])).address]);
  await mine(R, 110, net.nodes);
  const r = await ok(H, ['contract', 'offer', '--price', '0.001', '--collateral', '0.002', '--min-duration', '10', '--url', 'http://127.0.0.1:9000', '--capacity', '10TiB']);
  await waitFor(async () => (await ok(R, ['contract', 'offers'])).offers.length === 1, 10_000, 'the offer at the renter');
  const o = r.offer;
  // The same fields signed with the same key give the same bytes (RFC 6979): the host's offer as it travels.
  offer = new OfferPacket({
    flags: 0, hostKey: identity(H).publicKey, sequence: o.sequence, expiry: o.expiry, price: o.price, collateral: o.collateral,
    minSize: o.minSize, maxSize: o.maxSize, minDuration: o.minDuration, maxDuration: o.maxDuration, url: o.url, addresses: o.addresses,
  }).sign(identity(H).secretKey);
  if (offer.hash().toString('hex') !== o.hash) throw new Error('offer rebuilt differently');
  const a = await ok(R, ['contract', 'accept', o.hash, '--size', '10GiB', '--duration', '40']);
  contractId = a.negotiation.contractId;
  await mine(R, 1, net.nodes);
});

test.after.always(async () => {
  await net.stop();
});

test.serial('each node\'s daemon put its identity key in its wallet: a payment to P2PKH(identity key) shows in its balance', async (t) => {
  const address = bcoin.KeyRing.fromPublic(Buffer.from(identity(H).publicKey)).getAddress('string', getNetwork('dev'));
  await waitForLog(H, 'identity key imported into the wallet');
  const before = (await ok(H, ['wallet', 'balance'])).confirmed;
  await ok(R, ['wallet', 'send', address, '1']);
  await mine(R, 1, net.nodes);
  t.is((await ok(H, ['wallet', 'balance'])).confirmed - before, 100_000_000);
});

test.serial('a forged offer signature: dropped, not relayed, and its peer banned', async (t) => {
  const forged = new OfferPacket({ ...offer, hostKey: offer.hostKey, sequence: offer.sequence + 1, price: 1 }).sign(identity(R).secretKey);
  const p = await peerOf(H);
  p.write(frame('dev', 'ccoffer', Buffer.from(forged.encode())));
  t.true(await p.closedWithin(10_000), 'bad-signature scores 100: disconnected');
  const listed = (await ok(R, ['contract', 'offers'])).offers;
  t.deepEqual(listed.map((o: any) => o.hash), [offer.hash().toString('hex')], 'the genuine offer stands everywhere');
});

test.serial('a forged propose signature: the peer is banned', async (t) => {
  const p = await peerOf(H);
  // Signed by another key than the renter key in its terms.
  const body = propose((await heightOf(H)) + 1);
  body[body.length - 10] ^= 1;
  p.write(frame('dev', 'ccpropose', body));
  t.true(await p.closedWithin(10_000));
});

test.serial('a replayed propose and an expired one cost ban score; the peer stays until 100', async (t) => {
  const p = await peerOf(H);
  const start = (await heightOf(H)) + 1;
  const body = propose(start);
  await send(p, 'ccpropose', body);
  await t.notThrowsAsync(p.arrived(Buffer.from('ccaccept')), 'the host answered the genuine propose');
  await send(p, 'ccpropose', body);
  t.deepEqual(await banAfter(H, [0]), [10], 'replay: 10');
  await send(p, 'ccpropose', propose(start, 3600));
  t.deepEqual(await banAfter(H, [10]), [20], 'expired: 10 more');
  // An old offer of the host (lower sequence), replayed: stale, ignored, not punished.
  const old = new OfferPacket({ ...offer, sequence: offer.sequence - 100 }).sign(identity(H).secretKey);
  await send(p, 'ccoffer', Buffer.from(old.encode()));
  t.deepEqual(await testPeerBan(H), [20]);
  t.deepEqual((await ok(H, ['contract', 'offers'])).offers.map((o: any) => o.sequence), [offer.sequence]);
  t.false(p.isClosed());
  p.close();
});

test.serial('an oversized message costs 100, as docs/protocol.md §3.2 says; a flood of announcements gets the peer banned', async (t) => {
  const big = await peerOf(H);
  big.write(frame('dev', 'ccoffer', randomBytes(MAX_OFFER_SIZE + 1))); // over ccoffer's maximum: dropped unread
  t.true(await big.closedWithin(10_000), 'oversize scores 100: disconnected');
  const p = await peerOf(H);
  // 200 announcements of budget, refilled at 10/s: 400 at once overdraw it, 20 ban points each time.
  for (let i = 0; i < 400 && !p.isClosed(); i++) p.write(frame('dev', 'ccinv', Buffer.concat([Buffer.from([1, 1, 0]), randomBytes(32)])));
  t.true(await p.closedWithin(10_000), 'flood: banned at 100');
});

test.serial('the HTTP API answers a domain error with its status and code', async (t) => {
  const missing = await H.http('GET', `/ext/negotiator/contracts/${'00'.repeat(32)}`);
  t.is(missing.status, 404);
  t.is(missing.body.error.code, 'ENOTFOUND');
  t.regex(missing.body.error.message, /no such contract on chain/);
  const malformed = await H.http('GET', '/ext/negotiator/contracts/xyz');
  t.is(malformed.status, 400);
  t.is(malformed.body.error.code, 'EUSAGE');
  const own = await H.http('POST', '/ext/negotiator/negotiate', { offer: offer.hash().toString('hex'), size: 10 * 1024 ** 3, duration: 40 });
  t.is(own.status, 400);
  t.deepEqual(own.body.error, { code: 'EUSAGE', message: 'that is this node\'s own offer' });
  const nothing = await H.http('POST', `/ext/negotiator/pending/${'00'.repeat(32)}/approve`);
  t.is(nothing.status, 404);
  t.is(nothing.body.error.code, 'ENOTFOUND');
  const role = await H.http('GET', '/ext/negotiator/contracts?role=everyone');
  t.is(role.status, 400, 'the route\'s own check');
  t.is(role.body.error.code, 'EUSAGE');
});

const FUZZ = 10_000;
const CC = ['ccinv', 'ccgetoffer', 'ccoffer', 'ccpropose', 'cccounter', 'ccaccept', 'ccsign', 'ccrefuse', 'ccfund', 'ccfundsig', 'ccpay', 'ccpayack'];

function fuzzMessage(i: number, valid: { cmd: string; bytes: Buffer }[]): [string, Buffer] {
  const base = valid[randomInt(valid.length)];
  switch (i % 5) {
    case 0: // bit flips of a valid message
    case 1: {
      const b = Buffer.from(base.bytes);
      for (let k = 0; k < 1 + randomInt(4); k++) b[randomInt(b.length)] ^= 1 << randomInt(8);
      return [base.cmd, b];
    }
    case 2: // truncated or extended
      return [base.cmd, randomInt(2) ? base.bytes.subarray(0, randomInt(base.bytes.length)) : Buffer.concat([base.bytes, randomBytes(1 + randomInt(16))])];
    case 3: // random bytes under a cc* command
      return [CC[randomInt(CC.length)], randomBytes(randomInt(0, 400))];
    default: // a valid message of one command under another
      return [CC[randomInt(CC.length)], base.bytes];
  }
}

test.serial('10,000 random and mutated cc* messages: the node keeps running, the registry is unchanged', async (t) => {
  const before = (await H.http('GET', '/ext/negotiator/registry')).body;
  t.is(before.contracts.length, 1);
  const valid = [...Object.values(samplePackets()).map((p) => ({ cmd: p.cmd as string, bytes: Buffer.from(p.encode()) })), { cmd: 'ccoffer', bytes: Buffer.from(offer.encode()) }, { cmd: 'ccpropose', bytes: propose((await heightOf(H)) + 1) }];
  let sent = 0;
  let closed = 0;
  while (sent < FUZZ) {
    const p = await rawPeer(H.port);
    p.write(frame('dev', 'version', versionPayload()));
    p.write(frame('dev', 'verack', Buffer.alloc(0)));
    for (let k = 0; k < 100 && sent < FUZZ && !p.isClosed(); k++) {
      const [cmd, body] = fuzzMessage(sent, valid);
      p.write(frame('dev', cmd, body));
      sent++;
    }
    // Until the node has read the batch, or hung up on it.
    await Promise.race([roundTrip(p, 'dev', 5_000).catch(() => {}), p.closed]);
    if (p.isClosed()) closed++;
    p.close();
  }
  t.is(sent, FUZZ);
  t.log(`cc* fuzz over P2P: ${sent} messages; ${closed} connections ended by the node`);
  t.true(closed > 0, 'misbehaving peers are disconnected');
  const status = await H.run(['node', 'status']);
  t.is(status.code, 0, 'the node still answers');
  t.deepEqual((await H.http('GET', '/ext/negotiator/registry')).body, before, 'the registry is unchanged');
  const height = await mine(R, 1, net.nodes);
  t.is(await heightOf(H), height, 'and it still follows the chain');
  t.deepEqual((await ok(H, ['contract', 'show', contractId])).state, 'active');
});

test.serial('a contract whose funding block is orphaned by a reorganisation leaves the registry', async (t) => {
  const G = await net.node({ start: false });
  await G.start(['--peers', `127.0.0.1:${R.port}`]);
  const base = await heightOf(R);
  await synced([G], base);
  await G.stop();

  // While G is away, a contract is funded on R's chain.
  const a = await ok(R, ['contract', 'accept', offer.hash().toString('hex'), '--size', '10GiB', '--duration', '40']);
  const id = a.negotiation.contractId;
  await mine(R, 1, [R, H]);
  t.is((await ok(H, ['contract', 'show', id])).state, 'active');

  // G, alone (no inbound, and it forgets the peers bcoin saved), mines a longer chain without it; then it comes back.
  rmSync(join(G.datadir, 'ccdev', 'hosts.json'), { force: true });
  await G.start(['--no-listen']);
  await ok(G, ['node', 'mine', '3']);
  t.is(await heightOf(R), base + 1, 'R did not hear of G\'s blocks');
  await rpc(G, 'addnode', [`127.0.0.1:${R.port}`, 'onetry']);
  await waitFor(async () => (await ok(G, ['node', 'peers'])).peers.length > 0, 10_000, 'G connected');
  await ok(G, ['node', 'mine', '1']); // announced to R, whose chain it does not extend: R fetches G's branch and reorganises
  await synced([R, H, G], base + 4);
  for (const n of [R, H]) {
    const gone = await n.run(['contract', 'show', id]);
    t.is(gone.code, 1, 'the funded contract left the registry');
    t.regex(gone.stderr, /no such contract/);
  }
  t.deepEqual((await R.http('GET', '/ext/negotiator/registry')).body, (await G.http('GET', '/ext/negotiator/registry')).body, 'the same registry as a node that never saw it');
});

/**
 * A ccpay for the test's contract as its renter R would send it: escrow
 * signatures of the host variants built from the funding transaction,
 * message signed by `signer` (R's key unless forged).
 */
async function payFor(id: string, fields: { seq: number; proven: number; missed: number; expiry?: number }, signer = identity(R).secretKey): Promise<Buffer> {
  const c = await ok(H, ['contract', 'show', id]);
  const terms = recordOf(await txAt(H, c.height, c.fundingTxid)).terms;
  const funding = await txAt(H, c.height, c.fundingTxid);
  const state = { windows: c.fulfilment.windows, proven: fields.proven, missed: fields.missed, seq: fields.seq };
  const sig = (kind: 'pay' | 'split') => signSettlement(buildSettlement(kind, 'host', funding, terms, state), kind, terms, identity(R).secretKey);
  const pay = new PayPacket({ contractId: Buffer.from(id, 'hex'), ...state, expiry: fields.expiry ?? now() + 600, paySig: sig('pay'), splitSig: sig('split') });
  return pay.sign(signer).encode();
}

function count(haystack: Buffer, needle: string): number {
  let n = 0;
  for (let i = haystack.indexOf(needle); i >= 0; i = haystack.indexOf(needle, i + 1)) n++;
  return n;
}

test.serial('ccpay: forged, replayed, stale, for no contract: each costs its ban score; the genuine one and its resend are answered', async (t) => {
  // R's daemon sends H payment revisions of its own as windows pass: stopped, it leaves H's latest where it is.
  await R.stop();
  const latest = (await ok(H, ['contract', 'show', contractId])).fulfilment;
  const seq = (latest.payment?.seq ?? 0) + 1;
  const counts = { proven: latest.proven, missed: latest.missed };

  const forged = await peerOf(H);
  forged.write(frame('dev', 'ccpay', await payFor(contractId, { seq, ...counts }, generateKeyPair().secretKey)));
  t.true(await forged.closedWithin(10_000), 'not signed by the renter: 100');

  const p = await peerOf(H);
  const genuine = await payFor(contractId, { seq, ...counts });
  await send(p, 'ccpay', genuine);
  await t.notThrowsAsync(p.arrived(Buffer.from('ccpayack')), 'the host answered with its signatures');
  await send(p, 'ccpay', genuine);
  await waitFor(() => count(p.received(), 'ccpayack') === 2, 10_000, 'the same ccpay answered again');
  t.deepEqual(await testPeerBan(H), [0], 'a resend of what the host signed costs nothing');
  t.like((await ok(H, ['contract', 'show', contractId])).fulfilment.payment, { seq, acknowledged: true });

  await send(p, 'ccpay', await payFor(contractId, { seq, ...counts, expiry: now() + 900 }));
  t.deepEqual(await banAfter(H, [0]), [10], 'the same sequence number with other bytes: replay, 10');
  await send(p, 'ccpay', await payFor(contractId, { seq: seq + 1, ...counts, expiry: now() - 1 }));
  t.deepEqual(await banAfter(H, [10]), [20], 'expired: 10');
  // No settlement can be built for more windows than the contract has: the genuine escrow signatures stand in.
  const overcount = PayPacket.decode(genuine);
  Object.assign(overcount, { seq: seq + 1, proven: latest.windows, missed: 1 });
  await send(p, 'ccpay', overcount.sign(identity(R).secretKey).encode());
  t.deepEqual(await banAfter(H, [20]), [40], 'more windows decided than the contract has: 20');
  const elsewhere = PayPacket.decode(genuine);
  Object.assign(elsewhere, { contractId: randomBytes(32), seq: seq + 2 });
  await send(p, 'ccpay', elsewhere.sign(identity(R).secretKey).encode());
  t.deepEqual(await banAfter(H, [40]), [60], 'for no contract on chain: 20');
  t.false(p.isClosed());
  p.close();
  t.is(count(p.received(), 'ccpayack'), 2, 'nothing else was answered');
});
