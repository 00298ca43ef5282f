/**
 * Token buckets per key (a renter key, or a client address for refused
 * requests): each key may spend `perSecond` tokens a second on average, in
 * bursts of up to `burst`. Idle buckets are full and
 * carry no information, so they are dropped to keep memory bounded.
 */
export interface RateLimitOptions {
  /** Sustained requests per second per key (default 50). */
  perSecond?: number;
  /** Largest burst per key (default 100). */
  burst?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  readonly perSecond: number;
  readonly burst: number;

  constructor(options: RateLimitOptions = {}, private readonly now: () => number = Date.now) {
    this.perSecond = options.perSecond ?? 50;
    this.burst = options.burst ?? 100;
    if (!(this.perSecond > 0) || !Number.isFinite(this.perSecond)) throw new RangeError('perSecond must be a positive number');
    if (!Number.isSafeInteger(this.burst) || this.burst < 1) throw new RangeError('burst must be a positive integer');
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
    const b = this._refill(key);
    return b.tokens >= 1 ? 0 : Math.ceil((1 - b.tokens) / this.perSecond);
  }

  private _refill(key: string): Bucket {
    const now = this.now();
    if (this.buckets.size > 10_000) this._dropFull(now);
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    this.buckets.set(key, b);
    return b;
  }

  private _dropFull(now: number): void {
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.perSecond >= this.burst) this.buckets.delete(key);
    }
  }
}
