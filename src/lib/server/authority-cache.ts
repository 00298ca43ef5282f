/**
 * Caching wrapper around a ContractAuthority, so that a busy server asks its
 * Negotiator once per contract per TTL rather than once per request, and keeps
 * serving the contracts it knows while the Negotiator is briefly unreachable
 * (stale-if-error, as in RFC 5861). Unknown contracts are cached for a shorter
 * time, so a newly signed contract is served soon after it is recorded.
 */
import { AuthorityUnavailableError, type ContractAuthority, type ServedContract } from './authority.js';

export interface CacheOptions {
  /** How long a known contract's answer is used without asking again (default 30 s). */
  ttlMs?: number;
  /** How long "unknown contract" is remembered (default 5 s). */
  negativeTtlMs?: number;
  /** How long after its last good answer a known contract is still served while the authority fails (default 15 min). */
  staleIfErrorMs?: number;
  /** Entries kept at most; the oldest are dropped first (default 10000). */
  maxEntries?: number;
}

interface Entry {
  record: ServedContract | null;
  fetchedAt: number;
}

export interface CacheStats {
  entries: number;
  /** Answers given from the cache because the authority failed. */
  staleAnswers: number;
  /** When the authority started failing (ms since the epoch); null while it answers. */
  unreachableSince: number | null;
  /** The latest failure's message (it may name the authority's address: not for clients). */
  lastError: string | null;
}

function _positive(v: number | undefined, fallback: number, what: string): number {
  const n = v ?? fallback;
  if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`${what} must be a positive integer, got ${v}`);
  return n;
}

export class CachingAuthority implements ContractAuthority {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<ServedContract | null>>();
  private readonly ttlMs: number;
  private readonly negativeTtlMs: number;
  private readonly staleIfErrorMs: number;
  private readonly maxEntries: number;
  private staleAnswers = 0;
  private unreachableSince: number | null = null;
  private lastError: string | null = null;

  constructor(
    private readonly inner: ContractAuthority,
    options: CacheOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.ttlMs = _positive(options.ttlMs, 30_000, 'ttlMs');
    this.negativeTtlMs = _positive(options.negativeTtlMs, 5_000, 'negativeTtlMs');
    this.staleIfErrorMs = _positive(options.staleIfErrorMs, 15 * 60_000, 'staleIfErrorMs');
    this.maxEntries = _positive(options.maxEntries, 10_000, 'maxEntries');
  }

  async lookup(contractId: string): Promise<ServedContract | null> {
    const entry = this.entries.get(contractId);
    if (entry) {
      const ttl = entry.record ? this.ttlMs : this.negativeTtlMs;
      if (this.now() - entry.fetchedAt < ttl) return entry.record;
    }
    // Concurrent requests for one contract share one question to the authority.
    let pending = this.inFlight.get(contractId);
    if (!pending) {
      pending = this._refresh(contractId).finally(() => this.inFlight.delete(contractId));
      this.inFlight.set(contractId, pending);
    }
    return pending;
  }

  stats(): CacheStats {
    return { entries: this.entries.size, staleAnswers: this.staleAnswers, unreachableSince: this.unreachableSince, lastError: this.lastError };
  }

  private async _refresh(contractId: string): Promise<ServedContract | null> {
    try {
      const record = await this.inner.lookup(contractId);
      this.unreachableSince = null;
      this.entries.delete(contractId);
      this.entries.set(contractId, { record, fetchedAt: this.now() });
      if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
      return record;
    } catch (err) {
      this.lastError = (err as Error).message;
      this.unreachableSince ??= this.now();
      const entry = this.entries.get(contractId);
      if (err instanceof AuthorityUnavailableError && entry?.record && this.now() - entry.fetchedAt < this.staleIfErrorMs) {
        this.staleAnswers++;
        return entry.record;
      }
      throw err;
    }
  }
}
