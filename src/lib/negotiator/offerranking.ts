/**
 * Which offer a full pool drops: the eviction order of the OfferPool.
 *
 * Every entry has a rank (its host key's standing on chain, standing.ts,
 * taken when the offer entered; the node's own offer ranks above all) and a
 * source: the address group of the peer it came from (src/lib/net/netgroup.ts),
 * so that many connections from one network count as one source. Entries are
 * kept in one bucket per source, each a heap ordered by rank, then expiry;
 * the buckets are in a heap of their own, ordered by their lowest rank, then
 * by size, largest first. The victim is the lowest-ranked entry of the
 * largest of the buckets that hold the lowest rank. So:
 *
 * - an offer never pushes out one of higher rank: offers from keys with a
 *   track record stay however many fresh keys are announced;
 * - at equal rank an offer from a smaller source pushes out one from the
 *   largest source, so a source that floods the pool holds it only until
 *   other sources bring offers, and then keeps no more than its share,
 *   however many connections it floods over;
 * - within one source, at equal rank, the entry that expires first goes.
 *
 * Adding, removing and finding the victim cost O(log n + log s) comparisons
 * for n entries in s sources; `comparisons` counts them for tests and bench.
 */
import type { OfferPacket } from '../net/offer.js';
import { IndexedHeap } from './heap.js';

export interface RankedEntry {
  offer: OfferPacket;
  /** Hex hash of the offer. */
  hex: string;
  rank: number;
  source: string;
}

interface SourceBucket {
  source: string;
  entries: IndexedHeap<RankedEntry>;
}

export class OfferRanking {
  private readonly buckets = new Map<string, SourceBucket>();
  private readonly order: IndexedHeap<SourceBucket>;
  comparisons = 0;

  constructor() {
    this.order = new IndexedHeap<SourceBucket>((a, b) => {
      this.comparisons++;
      const ra = a.entries.peek()!.rank;
      const rb = b.entries.peek()!.rank;
      if (ra !== rb) return ra < rb;
      if (a.entries.size !== b.entries.size) return a.entries.size > b.entries.size;
      return a.source < b.source;
    });
  }

  private readonly _entryBefore = (a: RankedEntry, b: RankedEntry): boolean => {
    this.comparisons++;
    if (a.rank !== b.rank) return a.rank < b.rank;
    if (a.offer.expiry !== b.offer.expiry) return a.offer.expiry < b.offer.expiry;
    return a.hex < b.hex;
  };

  /** Entries held from `source`. */
  sizeOf(source: string): number {
    return this.buckets.get(source)?.entries.size ?? 0;
  }

  insert(entry: RankedEntry): void {
    let bucket = this.buckets.get(entry.source);
    if (!bucket) {
      bucket = { source: entry.source, entries: new IndexedHeap(this._entryBefore) };
      this.buckets.set(entry.source, bucket);
      bucket.entries.push(entry);
      this.order.push(bucket);
      return;
    }
    bucket.entries.push(entry);
    this.order.update(bucket);
  }

  remove(entry: RankedEntry): void {
    const bucket = this.buckets.get(entry.source);
    if (!bucket || !bucket.entries.remove(entry)) return;
    if (bucket.entries.size > 0) {
      this.order.update(bucket);
      return;
    }
    this.order.remove(bucket);
    this.buckets.delete(entry.source);
  }

  /**
   * The entry that a new offer of `rank` and `expiry` from `source` pushes
   * out of a full pool, or null when the new offer does not get in.
   */
  victimFor(rank: number, expiry: number, source: string): RankedEntry | null {
    const top = this.order.peek();
    const victim = top?.entries.peek();
    if (!top || !victim) return null;
    if (rank !== victim.rank) return rank > victim.rank ? victim : null;
    if (top.source === source) return expiry > victim.offer.expiry ? victim : null;
    // Moving one entry from the largest source to this one must not make this one the largest.
    return this.sizeOf(source) + 1 < top.entries.size ? victim : null;
  }
}
