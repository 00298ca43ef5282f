/**
 * Caching wrapper around a ContractAuthority, so that a busy server asks its
 * Negotiator once per contract per TTL rather than once per request, and keeps
 * serving the contracts it knows while the Negotiator is briefly unreachable
 * (stale-if-error, as in RFC 5861). Unknown contracts are cached for a shorter
 * time, so a newly signed contract is served soon after it is recorded.
 *
 * Anyone can name a contract id, so known and unknown contracts are kept in
 * two bounded maps, each dropping its least recently used entry: ids nobody
 * holds can fill only the second, never flush a contract being served. Lookups
 * in flight are bounded too, so a flood of fresh ids asks the Negotiator at
 * most `maxLookups` questions at once.
 */
import { CloudCoinError, ExitCode } from '../errors.js';
import { parseWait } from '../units.js';
import { AuthorityUnavailableError, type ContractAuthority, type ServedContract } from './authority.js';

/** The default of `ttlMs`: how long a known contract's answer is used without asking again. */
export const DEFAULT_CACHE_TTL_MS = 30_000;

export interface CacheOptions {
  /** How long a known contract's answer is used without asking again (default DEFAULT_CACHE_TTL_MS). */
  ttlMs?: number;
  /** How long "unknown contract" is remembered (default 5 s). */
  negativeTtlMs?: number;
  /** How long after its last good answer a known contract is still served while the authority fails (default 15 min). */
  staleIfErrorMs?: number;
  /** Known contracts kept at most; the least recently used are dropped first (default 10000). */
  maxEntries?: number;
  /** Unknown contract ids kept at most, apart from the known ones (default 10000). */
  maxUnknown?: number;
  /** Questions to the authority at once; more are answered as if it were unavailable (default 64). */
  maxLookups?: number;
}

interface Entry {
  record: ServedContract;
  fetchedAt: number;
}

export interface CacheStats {
  entries: number;
  maxEntries: number;
  /** Contract ids the authority did not know, remembered for the negative TTL. */
  unknown: number;
  maxUnknown: number;
  lookupsInFlight: number;
  /** Answers given from the cache because the authority failed. */
  staleAnswers: number;
  /** When the authority started failing (ms since the epoch); null while it answers. */
  unreachableSince: number | null;
  /** The latest failure's message (it may name the authority's address: not for clients). */
  lastError: string | null;
}

/**
 * `--cache-ttl` (`30s`, `2m`, or a plain number of seconds) in milliseconds:
 * how late a server learns that a contract ended or was refunded.
 */
export function parseCacheTtl(text: string): number {
  let seconds = 0;
  try {
    seconds = parseWait(text);
  } catch {
    // parseWait's message names a wait; this names the setting.
  }
  if (seconds === 0) throw new CloudCoinError('EUSAGE', `cache-ttl "${text}" is not valid: use e.g. 30s, 2m or 45 (seconds), at least 1s`, ExitCode.usage);
  return seconds * 1000;
}

function _positive(v: number | undefined, fallback: number, what: string): number {
  const n = v ?? fallback;
  if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`${what} must be a positive integer, got ${v}`);
  return n;
}

/** Sets `key` as the most recently used entry of `map`, dropping the least recently used past `max`. */
function _touch<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value as string);
}

export class CachingAuthority implements ContractAuthority {
  private readonly entries = new Map<string, Entry>();
  /** Contract id → when the authority said it does not know it. */
  private readonly unknown = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<ServedContract | null>>();
  private readonly ttlMs: number;
  private readonly negativeTtlMs: number;
  private readonly staleIfErrorMs: number;
  private readonly maxEntries: number;
  private readonly maxUnknown: number;
  private readonly maxLookups: number;
  private staleAnswers = 0;
  private unreachableSince: number | null = null;
  private lastError: string | null = null;

  constructor(
    private readonly inner: ContractAuthority,
    options: CacheOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.ttlMs = _positive(options.ttlMs, DEFAULT_CACHE_TTL_MS, 'ttlMs');
    this.negativeTtlMs = _positive(options.negativeTtlMs, 5_000, 'negativeTtlMs');
    this.staleIfErrorMs = _positive(options.staleIfErrorMs, 15 * 60_000, 'staleIfErrorMs');
    this.maxEntries = _positive(options.maxEntries, 10_000, 'maxEntries');
    this.maxUnknown = _positive(options.maxUnknown, 10_000, 'maxUnknown');
    this.maxLookups = _positive(options.maxLookups, 64, 'maxLookups');
  }

  async lookup(contractId: string): Promise<ServedContract | null> {
    const entry = this.entries.get(contractId);
    if (entry && this.now() - entry.fetchedAt < this.ttlMs) {
      _touch(this.entries, contractId, entry, this.maxEntries);
      return entry.record;
    }
    const missedAt = this.unknown.get(contractId);
    if (missedAt !== undefined && this.now() - missedAt < this.negativeTtlMs) return null;
    // Concurrent requests for one contract share one question to the authority.
    let pending = this.inFlight.get(contractId);
    if (!pending) {
      if (this.inFlight.size >= this.maxLookups) return this._stale(contractId, new AuthorityUnavailableError(`${this.maxLookups} contract lookups already in flight`));
      pending = this._refresh(contractId).finally(() => this.inFlight.delete(contractId));
      this.inFlight.set(contractId, pending);
    }
    return pending;
  }

  stats(): CacheStats {
    return {
      entries: this.entries.size,
      maxEntries: this.maxEntries,
      unknown: this.unknown.size,
      maxUnknown: this.maxUnknown,
      lookupsInFlight: this.inFlight.size,
      staleAnswers: this.staleAnswers,
      unreachableSince: this.unreachableSince,
      lastError: this.lastError,
    };
  }

  private async _refresh(contractId: string): Promise<ServedContract | null> {
    let record: ServedContract | null;
    try {
      record = await this.inner.lookup(contractId);
    } catch (err) {
      this.lastError = (err as Error).message;
      this.unreachableSince ??= this.now();
      return this._stale(contractId, err);
    }
    this.unreachableSince = null;
    if (record === null) {
      this.entries.delete(contractId);
      _touch(this.unknown, contractId, this.now(), this.maxUnknown);
    } else {
      this.unknown.delete(contractId);
      _touch(this.entries, contractId, { record, fetchedAt: this.now() }, this.maxEntries);
    }
    return record;
  }

  /** A known contract's last answer while the authority cannot give one; `err` otherwise. */
  private _stale(contractId: string, err: unknown): ServedContract {
    const entry = this.entries.get(contractId);
    if (err instanceof AuthorityUnavailableError && entry && this.now() - entry.fetchedAt < this.staleIfErrorMs) {
      this.staleAnswers++;
      return entry.record;
    }
    throw err;
  }
}
