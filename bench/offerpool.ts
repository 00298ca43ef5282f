/**
 * The offer pool's eviction at 10,000 entries: one eviction and one add in
 * a full pool, in time and in comparisons, beside the scan for the first
 * offer to expire that the pool made on every add before it ranked offers
 * (docs/protocol.md §3.4). The ranking alone is measured: adding a peer's
 * offer also verifies its signature, which the negotiator suite times.
 */
import { generateKeyPair } from '../src/lib/crypto/sig.js';
import { OfferPacket } from '../src/lib/net/offer.js';
import { OfferRanking, type RankedEntry } from '../src/lib/negotiator/offerranking.js';
import { offerBy } from '../test/negotiator-fixtures.js';
import { opsPerSecond, type BenchSuite, type Figure } from './harness.js';

const N = 10_000;
const SOURCES = 8;
const NOW = Math.floor(Date.now() / 1000);

async function eviction(): Promise<Figure[]> {
  const template = offerBy(generateKeyPair(), NOW);
  // Entries differ only in what the ranking reads: rank, source, expiry and hash.
  const entry = (i: number, rank: number): RankedEntry => ({
    offer: new OfferPacket({ ...template, expiry: NOW + ((i * 7919) % 86_400) }),
    hex: i.toString(16).padStart(8, '0'),
    rank,
    source: `peer${i % SOURCES}`,
  });
  const ranking = new OfferRanking();
  const held: RankedEntry[] = [];
  let i = 0;
  for (; i < N; i++) {
    const e = entry(i, i % 4 === 0 ? 0 : i);
    ranking.insert(e);
    held.push(e);
  }
  const before = ranking.comparisons;
  let ops = 0;
  const evictAdd = await opsPerSecond(() => {
    const victim = ranking.victimFor(Infinity, NOW, 'flood')!;
    ranking.remove(victim);
    ranking.insert(entry(i++, 0));
    ops++;
  });
  const perOp = (ranking.comparisons - before) / ops;
  let sink = 0;
  const scan = await opsPerSecond(() => {
    let first = held[0];
    for (const e of held) if (e.offer.expiry < first.offer.expiry) first = e;
    sink += first.offer.expiry;
  });
  if (sink === 0) throw new Error('scan found nothing');
  return [
    { name: `offer pool: evict + add, full pool of ${N} (${SOURCES} sources)`, value: 1e6 / evictAdd, unit: 'µs', reference: { name: 'the former scan for the first to expire', value: 1e6 / scan, unit: 'µs' } },
    { name: `offer pool: comparisons per evict + add at ${N}`, value: perOp, unit: 'compares', reference: { name: 'entries a scan reads', value: N, unit: 'entries' } },
  ];
}

export const offerPoolBench: BenchSuite = {
  name: 'offerpool',
  run: eviction,
};
