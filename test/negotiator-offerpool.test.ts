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
import { OfferRanking, type RankedEntry } from '../src/lib/negotiator/offerranking.js';
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

test('the budget is a connection\'s: another connection of the same address group still has its own', async (t) => {
  const pool = new OfferPool({ burst: 5, rate: 1 });
  for (let i = 0; i < 5; i++) await pool.add(offer(generateKeyPair()), NOW, 'p', 'g');
  await throwsProtocol(t, () => pool.add(offer(generateKeyPair()), NOW, 'p', 'g'), 'flood', BanScore.flood);
  t.true((await pool.add(offer(generateKeyPair()), NOW, 'q', 'g')).added, 'the neighbour is not charged for p\'s flood');
  t.is(pool.countFrom('g'), 6);
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

const MONTH = 30 * 24 * 3600;

/** A pool of `maxOffers` that gives `standing` to the keys in `known`, 0 to the rest, and a budget no test flood runs out of. */
function rankedPool(maxOffers: number, known: Map<string, number>): OfferPool {
  return new OfferPool({ maxOffers, burst: 1e9, standing: async (key) => known.get(Buffer.from(key).toString('hex')) ?? 0 });
}

async function flood(pool: OfferPool, peer: string, n: number, expiry = NOW + MONTH - 1, group = peer): Promise<{ added: number; full: number }> {
  let added = 0;
  let full = 0;
  for (let i = 0; i < n; i++) {
    try {
      if ((await pool.add(offer(generateKeyPair(), { expiry }), NOW, peer, group)).added) added++;
    } catch (err) {
      if (!(err instanceof ProtocolError) || err.reason !== 'pool-full' || err.score !== BanScore.none) throw err;
      full++;
    }
  }
  return { added, full };
}

test('a flood of offers from free keys does not push out the offer of a host with standing', async (t) => {
  const honest = generateKeyPair();
  const pool = rankedPool(50, new Map([[Buffer.from(honest.publicKey).toString('hex'), 5]]));
  const good = offer(honest, { expiry: NOW + 600 });
  await pool.add(good, NOW, 'h');
  const f = await flood(pool, 'a', 500);
  t.true(pool.has(good.hash()), 'the host with standing is kept although its offer expires first');
  t.is(pool.rankOf(good.hash()), 5);
  t.is(pool.size, 50);
  t.is(pool.countFrom('a'), 49);
  t.is(f.full, 500 - 49, 'a full pool refuses the flood at no ban score, without verifying it');
});

test('at equal standing the largest source gives way: one peer\'s flood keeps only what the others leave', async (t) => {
  const pool = rankedPool(50, new Map());
  await flood(pool, 's', 20, NOW + 600);
  const f = await flood(pool, 'a', 200);
  t.is(pool.countFrom('s'), 20, 'offers expiring sooner are not pushed out by a larger source');
  t.is(pool.countFrom('a'), 30);
  t.is(f.added, 30);
  t.true((await pool.add(offer(generateKeyPair(), { expiry: NOW + 60 }), NOW, 'n')).added, 'a new source gets in');
  t.is(pool.countFrom('a'), 29, '... at the cost of the largest one');
  t.is(pool.size, 50);
});

test('offers from several connections of one address group share one bucket: ten connections keep one source\'s share', async (t) => {
  const pool = rankedPool(50, new Map());
  await flood(pool, 's', 20, NOW + 600);
  let added = 0;
  for (let c = 0; c < 10; c++) added += (await flood(pool, `c${c}`, 20, NOW + MONTH - 1, 'g')).added;
  t.is(pool.countFrom('g'), 30, 'the group holds what one flooding peer would');
  t.is(added, 30);
  t.is(pool.countFrom('s'), 20, 'the other source keeps all its offers');
  t.is(pool.countFrom('c9'), 0, 'a connection is no source of its own');
  t.true((await pool.add(offer(generateKeyPair(), { expiry: NOW + 60 }), NOW, 'n', 'h')).added, 'another group gets in');
  t.is(pool.countFrom('g'), 29, '... at the cost of the group');
});

test('this node\'s own offer is never pushed out by a peer\'s', async (t) => {
  const pool = rankedPool(10, new Map());
  const own = offer(generateKeyPair(), { expiry: NOW + 60 });
  await pool.add(own, NOW);
  await flood(pool, 'a', 50);
  t.true(pool.has(own.hash()));
  t.is(pool.rankOf(own.hash()), Infinity);
});

const TEMPLATE = offer(generateKeyPair());

/** An entry for the ranking alone, which reads the offer's expiry and nothing else (so it need not be signed for it). */
function entry(i: number, rank: number, source: string, expiry: number): RankedEntry {
  return { offer: new OfferPacket({ ...TEMPLATE, expiry }), hex: i.toString(16).padStart(8, '0'), rank, source };
}

/** The eviction rule written as a scan: the lowest rank; of the sources holding it, the largest (then by name); its first to expire. */
function naiveVictim(entries: RankedEntry[]): RankedEntry | undefined {
  if (entries.length === 0) return undefined;
  const low = Math.min(...entries.map((e) => e.rank));
  const size = (s: string) => entries.filter((e) => e.source === s).length;
  const sources = [...new Set(entries.filter((e) => e.rank === low).map((e) => e.source))];
  sources.sort((a, b) => size(b) - size(a) || (a < b ? -1 : 1));
  const of = entries.filter((e) => e.source === sources[0]);
  of.sort((a, b) => a.rank - b.rank || a.offer.expiry - b.offer.expiry || (a.hex < b.hex ? -1 : 1));
  return of[0];
}

test('the ranking picks the same victim as a scan over every entry, through random inserts and removals', (t) => {
  const ranking = new OfferRanking();
  const held: RankedEntry[] = [];
  let seed = 1;
  const rnd = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed % n;
  };
  for (let i = 0; i < 3000; i++) {
    if (held.length > 0 && rnd(3) === 0) {
      const [gone] = held.splice(rnd(held.length), 1);
      ranking.remove(gone);
    } else {
      const e = entry(i, rnd(4), `p${rnd(6)}`, NOW + rnd(100));
      ranking.insert(e);
      held.push(e);
    }
    const expected = naiveVictim(held);
    const got = held.length === 0 ? null : ranking.victimFor(Infinity, 0, 'new');
    if (got !== (expected ?? null)) return t.fail(`step ${i}: victim ${got?.hex} instead of ${expected?.hex}`);
  }
  t.pass();
});

test('eviction costs O(log n) comparisons: 10,000 evictions from a full pool of 10,000', (t) => {
  const n = 10_000;
  const ranking = new OfferRanking();
  let i = 0;
  for (; i < n; i++) ranking.insert(entry(i, 0, `p${i % 8}`, NOW + (i % 997)));
  const before = ranking.comparisons;
  for (let k = 0; k < n; k++, i++) {
    const victim = ranking.victimFor(1, NOW, 'attacker');
    if (!victim) return t.fail('no victim');
    ranking.remove(victim);
    ranking.insert(entry(i, 1, `p${k % 8}`, NOW + MONTH));
  }
  const perAdd = (ranking.comparisons - before) / n;
  t.log(`${perAdd.toFixed(1)} comparisons per eviction and add at n = ${n}; a scan makes ${n}`);
  t.true(perAdd <= 4 * Math.log2(n), `${perAdd} comparisons per add`);
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
