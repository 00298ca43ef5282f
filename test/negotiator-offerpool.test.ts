import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { generateKeyPair, type KeyPair } from '../src/lib/crypto/sig.js';
import { BanScore, ProtocolError } from '../src/lib/net/errors.js';
import { GetOfferPacket } from '../src/lib/net/getoffer.js';
import { InvPacket } from '../src/lib/net/inv.js';
import { OfferPacket } from '../src/lib/net/offer.js';
import { decode } from '../src/lib/net/packets.js';
import { EXPIRY_GRACE, OfferPool } from '../src/lib/negotiator/offerpool.js';
import type { RegistryDB } from '../src/lib/negotiator/undo.js';
import { offerBy, throwsProtocol } from './negotiator-fixtures.js';

const NOW = 1_800_000_000;

function offer(host: KeyPair, over: Partial<OfferPacket> = {}): OfferPacket {
  return offerBy(host, NOW, over);
}

test('announce, fetch, add, dedup: a second copy is not added and not relayed', async (t) => {
  const pool = new OfferPool();
  const o = offer(generateKeyPair());
  t.deepEqual(pool.handleInv('a', new InvPacket([o.hash()]), NOW), [o.hash()]);
  t.deepEqual(pool.handleInv('b', new InvPacket([o.hash()]), NOW), [], 'already requested from a');
  const first = await pool.add(o, NOW, 'a');
  t.true(first.added);
  t.false((await pool.add(OfferPacket.decode(o.encode()), NOW, 'b')).added);
  t.deepEqual(pool.handleInv('b', new InvPacket([o.hash()]), NOW), []);
  t.deepEqual(pool.handleGetOffer('b', new GetOfferPacket([o.hash()]), NOW).map((x) => x.hash()), [o.hash()]);
  t.is(pool.list(NOW).length, 1);
});

test('a forged signature costs the documented ban score and changes nothing; a resend costs it again', async (t) => {
  const pool = new OfferPool();
  const host = generateKeyPair();
  const forged = offer(host);
  forged.price = 1; // signed for another price
  await throwsProtocol(t, () => pool.add(forged, NOW, 'p'), 'bad-signature', BanScore.badSignature);
  await throwsProtocol(t, () => pool.add(forged, NOW, 'p'), 'bad-signature', BanScore.badSignature);
  t.is(pool.size, 0);
  const other = generateKeyPair();
  const wrongKey = offer(host);
  wrongKey.sign(other.secretKey);
  await throwsProtocol(t, () => pool.add(wrongKey, NOW, 'p'), 'bad-signature', BanScore.badSignature);
});

test('expired offers are rejected (free within the grace period), and so are offers expiring too far ahead', async (t) => {
  const pool = new OfferPool({ maxLifetime: 86_400 });
  const host = generateKeyPair();
  await throwsProtocol(t, () => pool.add(offer(host, { expiry: NOW - 10 }), NOW, 'p'), 'expired', BanScore.none);
  await throwsProtocol(t, () => pool.add(offer(host, { expiry: NOW - EXPIRY_GRACE - 1 }), NOW, 'p'), 'expired', BanScore.expired);
  await throwsProtocol(t, () => pool.add(offer(host, { expiry: NOW + 86_401 }), NOW, 'p'), 'expired', BanScore.expired);
  await pool.add(offer(host), NOW);
  t.is(pool.list(NOW).length, 1);
  t.is(pool.list(NOW + 3600).length, 0, 'not listed once expired');
  t.is(await pool.expire(NOW + 3600), 1);
  t.is(pool.size, 0);
});

test('a higher sequence replaces, a lower one is stale; a withdrawal removes the offer and keeps older ones out', async (t) => {
  const pool = new OfferPool();
  const host = generateKeyPair();
  const v1 = offer(host, { sequence: 1 });
  const v2 = offer(host, { sequence: 2, price: 90_000 });
  await pool.add(v1, NOW);
  const r = await pool.add(v2, NOW, 'p');
  t.deepEqual(r.replaced, v1.hash());
  t.is(pool.offerOf(host.publicKey, NOW)?.price, 90_000);
  await throwsProtocol(t, () => pool.add(offer(host, { sequence: 2, price: 1 }), NOW, 'p'), 'stale', BanScore.none);
  const w = OfferPacket.withdrawal(host.publicKey, 3, NOW + 3600).sign(host.secretKey);
  t.true((await pool.add(w, NOW, 'p')).added);
  t.is(pool.offerOf(host.publicKey, NOW), null);
  t.is(pool.list(NOW).length, 0);
  await throwsProtocol(t, () => pool.add(v2, NOW, 'q'), 'stale', BanScore.none);
  t.true((await pool.add(offer(host, { sequence: 4 }), NOW)).added, 'the host can offer again');
});

test('a peer over its budget is flooding; the budget refills with time', async (t) => {
  const pool = new OfferPool({ burst: 5, rate: 1 });
  for (let i = 0; i < 5; i++) await pool.add(offer(generateKeyPair()), NOW, 'p');
  await throwsProtocol(t, () => pool.add(offer(generateKeyPair()), NOW, 'p'), 'flood', BanScore.flood);
  t.is(pool.size, 5);
  t.true((await pool.add(offer(generateKeyPair()), NOW, 'q')).added, 'other peers are unaffected');
  t.true((await pool.add(offer(generateKeyPair()), NOW + 2, 'p')).added);
});

test('a full pool drops the offer that expires first, or refuses one expiring sooner', async (t) => {
  const pool = new OfferPool({ maxOffers: 2 });
  const soon = offer(generateKeyPair(), { expiry: NOW + 100 });
  await pool.add(soon, NOW);
  await pool.add(offer(generateKeyPair(), { expiry: NOW + 200 }), NOW);
  await throwsProtocol(t, () => pool.add(offer(generateKeyPair(), { expiry: NOW + 50 }), NOW), 'pool-full', BanScore.none);
  await pool.add(offer(generateKeyPair(), { expiry: NOW + 300 }), NOW);
  t.false(pool.has(soon.hash()));
  t.is(pool.size, 2);
});

test('persistence: offers survive a restart, expired ones are dropped on open', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cc-offers-'));
  const db = () => new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' }) as unknown as RegistryDB;
  const a = new OfferPool({ db: db() });
  await a.open(NOW);
  const keep = offer(generateKeyPair(), { expiry: NOW + 5000 });
  await a.add(keep, NOW);
  await a.add(offer(generateKeyPair(), { expiry: NOW + 10 }), NOW);
  await a.close();
  const b = new OfferPool({ db: db() });
  await b.open(NOW + 20);
  t.deepEqual(b.list(NOW + 20).map((o) => o.hash()), [keep.hash()]);
  await b.close();
  rmSync(dir, { recursive: true, force: true });
});

test('decoded from the wire, a withdrawal with terms is malformed', (t) => {
  const host = generateKeyPair();
  const w = OfferPacket.withdrawal(host.publicKey, 3, NOW + 3600);
  w.price = 5;
  const err = t.throws(() => decode('ccoffer', w.sign(host.secretKey).encode()), { instanceOf: ProtocolError });
  t.is(err?.score, BanScore.malformed);
});
