/**
 * How many shards a sector should have, and how many a push stores when some
 * hosts do not answer. The renter policy names k and n; a renter with fewer
 * contracted hosts than n still gets a spare shard (k + 1) where it has that
 * many hosts, so a 3-host network stores 2-of-3 under the default 2-of-4. A
 * push never waits for a host: it stores on those that answer, down to k, and
 * says when that is below the wanted count (docs/store.md, "Hosts that do not
 * answer, and k-of-n").
 */
import { CloudCoinError, ExitCode } from '../errors.js';
import { checkErasure } from './erasure.js';
import type { HostDown } from './shards.js';

/** The renter policy's redundancy: any k of n shards rebuild a sector. */
export interface Redundancy {
  k: number;
  n: number;
}

/** The policy's default (config/renter-policy.ts), for an engine opened without one. */
export const DEFAULT_REDUNDANCY: Readonly<Redundancy> = Object.freeze({ k: 2, n: 4 });

/** k for n shards at about 1.5x storage overhead. */
export function defaultK(n: number): number {
  return Math.max(1, Math.round(n / 1.5));
}

/** Shards a sector of `k` should have with `contracted` hosts: min(n, hosts), but k + 1 where there are that many hosts. */
export function wantedShards(policy: Redundancy, k: number, contracted: number): number {
  return Math.min(contracted, Math.max(policy.n, k + 1));
}

/** What a push stores: n shards a sector, k of which rebuild it, and why that is fewer than wanted, if it is. */
export interface PushShape {
  n: number;
  k: number;
  /** Shards a sector should have; more than n when hosts did not answer. */
  wanted: number;
  /** A warning when n is below `wanted` (none at full redundancy). */
  reduced: string | null;
}

/**
 * n and k for a push with `up` hosts answering out of `contracted`. An
 * explicit n (--total-shards) must be met in full, as asked; otherwise the
 * policy's count is stored on as many hosts as answer, down to k. Throws
 * CloudCoinError EHOSTSDOWN (exit 1) when too few answer.
 */
export function pushShape(up: number, contracted: number, down: HostDown[], o: { n?: number; k?: number; policy: Redundancy }): PushShape {
  const names = down.map((d) => d.backend).join(', ');
  const who = down.length === 0 ? `there are only ${contracted} hosts` : up === 0 ? `no host answered (down: ${names})` : `only ${up} of ${contracted} hosts answered (down: ${names})`;
  if (o.n !== undefined) {
    if (up < o.n) throw new CloudCoinError('EHOSTSDOWN', `${who}; n = ${o.n} shards (--total-shards) need ${o.n}`, ExitCode.failure);
    const k = o.k ?? defaultK(o.n);
    checkErasure(k, o.n);
    return { n: o.n, k, wanted: o.n, reduced: null };
  }
  const k = o.k ?? o.policy.k;
  const wanted = wantedShards(o.policy, k, contracted);
  if (up < k) {
    const flag = o.k === undefined ? 'the renter policy' : '--min-shards';
    throw new CloudCoinError('EHOSTSDOWN', `${who}; k = ${k} (${flag}) needs at least ${k}`, ExitCode.failure);
  }
  const n = Math.min(up, wanted);
  checkErasure(k, n);
  if (n >= wanted) return { n, k, wanted, reduced: null };
  const gone = down.length > 0 ? ` (${names} did not answer)` : '';
  const reduced =
    n === k
      ? `reduced redundancy: ${n} of ${wanted} shards per new sector${gone}, and NO redundancy: losing any one of these ${n} hosts loses data until store repair rebuilds the rest`
      : `reduced redundancy: ${n} of ${wanted} shards per new sector${gone}; store repair rebuilds the rest`;
  return { n, k, wanted, reduced };
}
