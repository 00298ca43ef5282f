/**
 * Token buckets per key (a renter key, or a client address for refused
 * requests): each key may spend `perSecond` tokens a second on average, in
 * bursts of up to `burst`. Idle buckets are full and carry no information, so
 * they are dropped; past `maxKeys` the least recently used go too, which only
 * ever gives a key back a full bucket, never takes tokens from one.
 */
export interface RateLimitOptions {
  /** Sustained requests per second per key (default 50). */
  perSecond?: number;
  /** Largest burst per key (default 100). */
  burst?: number;
  /** Keys tracked at most (default 10000, ~150 bytes each). */
  maxKeys?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  /** In order of last use, oldest first. */
  private readonly buckets = new Map<string, Bucket>();
  readonly perSecond: number;
  readonly burst: number;
  readonly maxKeys: number;

  constructor(options: RateLimitOptions = {}, private readonly now: () => number = Date.now) {
    this.perSecond = options.perSecond ?? 50;
    this.burst = options.burst ?? 100;
    this.maxKeys = options.maxKeys ?? 10_000;
    if (!(this.perSecond > 0) || !Number.isFinite(this.perSecond)) throw new RangeError('perSecond must be a positive number');
    if (!Number.isSafeInteger(this.burst) || this.burst < 1) throw new RangeError('burst must be a positive integer');
    if (!Number.isSafeInteger(this.maxKeys) || this.maxKeys < 1) throw new RangeError('maxKeys must be a positive integer');
  }

  /** Takes `cost` tokens (at most `burst`) for `key`: 0 if allowed, else the seconds to wait before retrying. */
  take(key: string, cost = 1): number {
    if (!Number.isSafeInteger(cost) || cost < 1 || cost > this.burst) throw new RangeError(`cost must be an integer from 1 to ${this.burst}`);
    const b = this._refill(key);
    if (b.tokens >= cost) {
      b.tokens -= cost;
      return 0;
    }
    return Math.ceil((cost - b.tokens) / this.perSecond);
  }

  /** Seconds until `key` has a token again, taking none (0: it has one now). */
  wait(key: string): number {
    const b = this.buckets.get(key);
    if (b === undefined) return 0;
    const tokens = b.tokens + ((this.now() - b.at) / 1000) * this.perSecond;
    return tokens >= 1 ? 0 : Math.ceil((1 - tokens) / this.perSecond);
  }

  /** Keys tracked now. */
  get size(): number {
    return this.buckets.size;
  }

  private _refill(key: string): Bucket {
    const now = this.now();
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (this.buckets.size >= this.maxKeys) this._shrink(now);
      b = { tokens: this.burst, at: now };
    } else {
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
      b.at = now;
      this.buckets.delete(key);
    }
    this.buckets.set(key, b);
    return b;
  }

  /**
   * Drops the full buckets, then the least recently used down to 90% of
   * `maxKeys`, so that the next full scan is at least a tenth of `maxKeys`
   * new keys away.
   */
  private _shrink(now: number): void {
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.perSecond >= this.burst) this.buckets.delete(key);
    }
    const keep = Math.floor(this.maxKeys * 0.9);
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= keep) break;
      this.buckets.delete(key);
    }
  }
}
