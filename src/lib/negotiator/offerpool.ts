/**
 * The pool of known offers, the offer counterpart of bcoin's mempool.
 *
 * Offers arrive announced by hash (ccinv); the pool says which to fetch
 * (ccgetoffer), then checks each ccoffer in context: known hash first (cheap
 * dedup), then per-peer budget, expiry, sequence against the host's current
 * offer, the host's standing and room, and only then the signature. A host
 * has at most one entry: a newer sequence replaces it; a withdrawal replaces
 * it with a tombstone that is never listed but keeps older offers of that
 * host out until it expires.
 *
 * A full pool makes room by the order of offerranking.ts: offers rank by
 * their host key's standing on chain (standing.ts), so announcing offers
 * from fresh keys, which costs nothing, cannot push out the offers of hosts
 * that locked coins in contracts; and at equal standing the address group
 * (src/lib/net/netgroup.ts) whose peers brought the most offers gives way,
 * so no single peer keeps the pool to itself, nor does one attacker by
 * opening many connections from its own network.
 *
 * The budget of offers and requests is per connection, not per group: going
 * over it costs ban score, which must fall on the connection that went over.
 * A budget shared by a group would let one peer get its honest neighbours
 * (nodes in the same /16 of a hosting provider) banned by spending it. What
 * k connections of one group gain by k budgets is only a faster flood, and
 * the group's offers still share one eviction bucket.
 *
 * Bad input throws a ProtocolError whose score the node adds to the peer's
 * ban score, and leaves the pool's offers untouched. Everything that is
 * added should be relayed: announce `hash` to the other peers.
 */
import { BanScore, ProtocolError } from '../net/errors.js';
import type { GetOfferPacket } from '../net/getoffer.js';
import type { InvPacket } from '../net/inv.js';
import { OfferPacket } from '../net/offer.js';
import { OfferRanking, type RankedEntry } from './offerranking.js';
import type { BatchOp, RegistryDB } from './undo.js';

export interface OfferPoolOptions {
  /** Most entries held (offers and tombstones). */
  maxOffers?: number;
  /** Furthest expiry accepted, in seconds from now. */
  maxLifetime?: number;
  /** Per-connection budget: offers and getoffer requests, refilled at `rate` a second up to `burst`. */
  burst?: number;
  rate?: number;
  /** Optional persistence: a level@10 database or sublevel with Buffer keys and values. */
  db?: RegistryDB;
  /** A host key's standing (standing.ts); without it every peer's offer stands at 0. */
  standing?: (hostKey: Uint8Array) => Promise<number>;
}

export interface AddResult {
  /** False for an offer the pool already has (nothing to relay). */
  added: boolean;
  hash: Buffer;
  /** Hash of the host's earlier entry that this one replaced. */
  replaced: Buffer | null;
}

/** An expired offer relayed within this many seconds of its expiry costs its peer nothing: it raced the clock. */
export const EXPIRY_GRACE = 120;
/** How long a requested hash stays reserved for the peer that announced it. */
export const REQUEST_TIMEOUT = 60;
const MAX_REJECTS = 10_000;
/** The source of offers this node made: they rank above every other. Other sources are address groups, which never spell it. */
export const LOCAL_SOURCE = 'local';
/** The source of offers read back from the database on open. */
export const STORED_SOURCE = 'stored';

/** Persisted offers live under 'o' + hash. */
function _dbKey(hash: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from('o'), hash]);
}

interface Bucket {
  tokens: number;
  at: number;
}

export class OfferPool {
  private readonly maxOffers: number;
  private readonly maxLifetime: number;
  private readonly burst: number;
  private readonly rate: number;
  private readonly db: RegistryDB | null;
  private readonly standing: (hostKey: Uint8Array) => Promise<number>;
  /** hex hash → offer (live or tombstone) with its rank and source. */
  private readonly byHash = new Map<string, RankedEntry>();
  private readonly ranking = new OfferRanking();
  /** hex host key → hex hash of its current entry. */
  private readonly byHost = new Map<string, string>();
  /** hex hash → the error it was rejected with: a resend costs the same without a new verify. */
  private readonly rejects = new Map<string, ProtocolError>();
  /** hex hash → requesting peer and time. */
  private readonly inFlight = new Map<string, { peer: string; at: number }>();
  private readonly buckets = new Map<string, Bucket>();

  constructor(options: OfferPoolOptions = {}) {
    this.maxOffers = options.maxOffers ?? 10_000;
    this.maxLifetime = options.maxLifetime ?? 30 * 24 * 3600;
    this.burst = options.burst ?? 200;
    this.rate = options.rate ?? 10;
    this.db = options.db ?? null;
    this.standing = options.standing ?? (() => Promise.resolve(0));
    for (const [name, v] of Object.entries({ maxOffers: this.maxOffers, maxLifetime: this.maxLifetime, burst: this.burst, rate: this.rate })) {
      if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${name} must be a positive number, got ${v}`);
    }
  }

  /** Loads persisted offers, dropping those expired by `now` (unix seconds). */
  async open(now: number): Promise<void> {
    if (!this.db) return;
    await this.db.open();
    const drop: Buffer[] = [];
    for await (const [key, value] of this.db.iterator({ gte: Buffer.from('o'), lt: Buffer.from('p') })) {
      const offer = OfferPacket.decode(value);
      if (offer.expiry <= now) drop.push(key);
      else this._insert(offer, await this.standing(offer.hostKey), STORED_SOURCE);
    }
    if (drop.length > 0) await this.db.batch(drop.map((key): BatchOp => ({ type: 'del', key })));
  }

  async close(): Promise<void> {
    if (this.db) await this.db.close();
  }

  get size(): number {
    return this.byHash.size;
  }

  has(hash: Uint8Array): boolean {
    return this.byHash.has(Buffer.from(hash).toString('hex'));
  }

  get(hash: Uint8Array): OfferPacket | null {
    return this.byHash.get(Buffer.from(hash).toString('hex'))?.offer ?? null;
  }

  /** The standing the offer with this hash entered the pool with (Infinity for this node's own), or null. */
  rankOf(hash: Uint8Array): number | null {
    return this.byHash.get(Buffer.from(hash).toString('hex'))?.rank ?? null;
  }

  /** How many entries came from the source `source`: an address group, LOCAL_SOURCE or STORED_SOURCE. */
  countFrom(source: string): number {
    return this.ranking.sizeOf(source);
  }

  /** The host's live offer, or null (none, withdrawn or expired). */
  offerOf(hostKey: Uint8Array, now: number): OfferPacket | null {
    const hash = this.byHost.get(Buffer.from(hostKey).toString('hex'));
    const offer = hash ? this.byHash.get(hash)?.offer : undefined;
    return offer && !offer.withdrawn && offer.expiry > now ? offer : null;
  }

  /** Every live offer, cheapest first (ties by hash, so the order is stable). */
  list(now: number): OfferPacket[] {
    return [...this.byHash.values()].map((e) => e.offer)
      .filter((o) => !o.withdrawn && o.expiry > now)
      .sort((a, b) => a.price - b.price || Buffer.compare(a.hash(), b.hash()));
  }

  /** Spends one unit of `peer`'s budget or throws `flood`. */
  private _spend(peer: string, now: number, cost = 1): void {
    const b = this.buckets.get(peer) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + Math.max(0, now - b.at) * this.rate);
    b.at = now;
    this.buckets.set(peer, b);
    if (b.tokens < cost) throw new ProtocolError('flood', `peer ${peer} exceeds ${this.rate} offers/s`, BanScore.flood);
    b.tokens -= cost;
  }

  /** Forgets a disconnected peer's budget and requests. */
  removePeer(peer: string): void {
    this.buckets.delete(peer);
    for (const [hash, req] of this.inFlight) if (req.peer === peer) this.inFlight.delete(hash);
  }

  /**
   * ccinv from `peer`: the announced hashes to fetch from it with
   * ccgetoffer. Costs a unit of budget per 100 hashes; requests beyond the
   * in-flight cap wait for a later announcement.
   */
  handleInv(peer: string, inv: InvPacket, now: number): Buffer[] {
    this._spend(peer, now, Math.ceil(inv.hashes.length / 100));
    const want: Buffer[] = [];
    for (const h of inv.hashes) {
      const hex = Buffer.from(h).toString('hex');
      if (this.byHash.has(hex) || this.rejects.has(hex)) continue;
      const req = this.inFlight.get(hex);
      if (req && now - req.at < REQUEST_TIMEOUT) continue;
      if (!req && this.inFlight.size >= this.maxOffers) break;
      this.inFlight.set(hex, { peer, at: now });
      want.push(Buffer.from(h));
    }
    return want;
  }

  /** ccgetoffer from `peer`: the offers to send back (unknown hashes are skipped); budget as for ccinv. */
  handleGetOffer(peer: string, req: GetOfferPacket, now: number): OfferPacket[] {
    this._spend(peer, now, Math.ceil(req.hashes.length / 100));
    return req.hashes.map((h) => this.get(h)).filter((o): o is OfferPacket => o !== null && o.expiry > now);
  }

  /**
   * Adds an offer received from `peer` (or made locally, peer omitted), a
   * connection of the address group `group`: the connection spends its
   * budget, the group is the offer's source in the eviction order.
   * Throws ProtocolError: flood, expired, stale (an older sequence; score 0),
   * pool-full (score 0), bad-signature. The host's standing is read before
   * the signature is checked: a lookup costs less than a verify, and an
   * offer that would not get in is not verified at all.
   */
  async add(offer: OfferPacket, now: number, peer?: string, group = peer): Promise<AddResult> {
    const hash = offer.hash();
    const hex = hash.toString('hex');
    if (this.byHash.has(hex)) return { added: false, hash, replaced: null };
    const rejected = this.rejects.get(hex);
    if (rejected) throw rejected;
    if (peer !== undefined) this._spend(peer, now);
    this.inFlight.delete(hex);

    offer.check();
    if (offer.expiry <= now) {
      const score = now - offer.expiry <= EXPIRY_GRACE ? BanScore.none : BanScore.expired;
      throw new ProtocolError('expired', `offer expired at ${offer.expiry}`, score);
    }
    if (offer.expiry > now + this.maxLifetime) throw new ProtocolError('expired', `offer expires more than ${this.maxLifetime}s ahead`, BanScore.expired);

    this._current(offer);
    const source = group ?? LOCAL_SOURCE;
    const rank = peer === undefined ? Infinity : await this.standing(offer.hostKey);
    // The pool may have changed while the standing was read.
    if (this.byHash.has(hex)) return { added: false, hash, replaced: null };
    const current = this._current(offer);
    const victim = current ?? (this.byHash.size >= this.maxOffers ? this.ranking.victimFor(rank, offer.expiry, source) : undefined);
    if (victim === null) throw new ProtocolError('pool-full', 'offer pool is full of offers that rank higher', BanScore.none);

    if (!offer.verify()) {
      const err = new ProtocolError('bad-signature', 'ccoffer: signature does not verify', BanScore.badSignature);
      if (this.rejects.size >= MAX_REJECTS) this.rejects.delete(this.rejects.keys().next().value!);
      this.rejects.set(hex, err);
      throw err;
    }

    const ops: BatchOp[] = [];
    if (victim) ops.push({ type: 'del', key: this._drop(victim) });
    this._insert(offer, rank, source);
    ops.push({ type: 'put', key: _dbKey(hash), value: offer.encode() });
    if (this.db) await this.db.batch(ops);
    return { added: true, hash, replaced: current ? current.offer.hash() : null };
  }

  /** The host's current entry, which `offer` replaces; throws `stale` if it does not. */
  private _current(offer: OfferPacket): RankedEntry | undefined {
    const currentHex = this.byHost.get(Buffer.from(offer.hostKey).toString('hex'));
    const current = currentHex ? this.byHash.get(currentHex) : undefined;
    if (current && current.offer.sequence >= offer.sequence) {
      throw new ProtocolError('stale', `sequence ${offer.sequence} does not replace ${current.offer.sequence}`, BanScore.none);
    }
    return current;
  }

  private _insert(offer: OfferPacket, rank: number, source: string): void {
    const entry: RankedEntry = { offer, hex: offer.hash().toString('hex'), rank, source };
    this.byHash.set(entry.hex, entry);
    this.byHost.set(Buffer.from(offer.hostKey).toString('hex'), entry.hex);
    this.ranking.insert(entry);
  }

  /** Removes an entry from memory; returns its database key. */
  private _drop(entry: RankedEntry): Buffer {
    this.byHash.delete(entry.hex);
    this.ranking.remove(entry);
    const hostHex = Buffer.from(entry.offer.hostKey).toString('hex');
    if (this.byHost.get(hostHex) === entry.hex) this.byHost.delete(hostHex);
    return _dbKey(entry.offer.hash());
  }

  /** Drops every entry expired by `now` (tombstones too); returns how many. */
  async expire(now: number): Promise<number> {
    const gone = [...this.byHash.values()].filter((e) => e.offer.expiry <= now);
    const ops: BatchOp[] = gone.map((e) => ({ type: 'del', key: this._drop(e) }));
    if (this.db && ops.length > 0) await this.db.batch(ops);
    for (const [hex, req] of this.inFlight) if (now - req.at >= REQUEST_TIMEOUT) this.inFlight.delete(hex);
    return gone.length;
  }
}
