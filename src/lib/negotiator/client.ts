/**
 * The `contract` commands' side of the Negotiator: units users type (sizes,
 * durations, prices) and one call per command to the extension's HTTP API
 * (routes.ts), with its error statuses turned into the documented exit codes.
 *
 * Units: sizes are bytes, or a number with B, KiB, MiB, GiB, TiB (powers of
 * 1024) or KB, MB, GB, TB (powers of 1000): `10GiB`, `1.5TiB`. Durations are
 * blocks: a plain number, or `30d`, `12h`, `2w`, `3mo` at 10-minute blocks
 * (6 an hour, 144 a day, 1,008 a week, 4,320 a month), or `500b`. Prices and
 * collateral are CC per GiB per month (up to 8 decimals).
 */
import { CloudCoinError, ExitCode } from '../errors.js';
import { NodeApiError, type NodeClient } from '../node/client.js';
import type { ContractInfo, RatingInfo } from './entries.js';
import type { NegotiationInfo } from './negotiation.js';
import type { Reputation } from './reputation.js';
import type { ContractListItem, HostSettings, NegotiateResult, OfferInfo, OfferTerms, PendingInfo } from './index.js';

const SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12,
};
const BLOCK_UNITS: Record<string, number> = { '': 1, b: 1, blocks: 1, h: 6, d: 144, w: 1008, mo: 4320 };
const SECOND_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

function _usage(message: string): CloudCoinError {
  return new CloudCoinError('EUSAGE', message, ExitCode.usage);
}

function _parse(text: string, units: Record<string, number>, what: string, example: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? units[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw _usage(`${what} "${text}" is not valid: use e.g. ${example}`);
  const n = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(n) || n < 1) throw _usage(`${what} "${text}" is out of range`);
  return n;
}

/** `10GiB` → 10737418240 bytes. */
export function parseSize(text: string): number {
  return _parse(text, SIZE_UNITS, 'size', '10GiB, 500MB or 1073741824');
}

/** `30d` → 4320 blocks; a plain number is blocks. */
export function parseDuration(text: string): number {
  return _parse(text, BLOCK_UNITS, 'duration', '30d, 12h, 2w, 3mo or 4320 (blocks)');
}

/** `7d` → 604800 seconds (wall-clock validity of an offer); a plain number is seconds. */
export function parseValidity(text: string): number {
  return _parse(text, { '': 1, ...SECOND_UNITS }, 'validity', '7d, 12h or 3600 (seconds)');
}

/** Bytes as the largest binary unit that keeps a short number: 10737418240 → 10 GiB. */
export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = bytes;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(2)} ${units[i]}`;
}

const STATUS_EXIT: Record<number, { code: string; exit: (typeof ExitCode)[keyof typeof ExitCode] }> = {
  400: { code: 'EUSAGE', exit: ExitCode.usage },
  402: { code: 'EFUNDS', exit: ExitCode.funds },
  404: { code: 'ENOTFOUND', exit: ExitCode.failure },
  409: { code: 'ECONFLICT', exit: ExitCode.conflict },
  422: { code: 'ENOTPARTY', exit: ExitCode.failure },
  423: { code: 'ELOCKED', exit: ExitCode.auth },
};

/** Calls the Negotiator's API on the node; HTTP errors become CloudCoinErrors with exit codes. */
export async function negotiatorApi<T>(client: NodeClient, method: string, path: string, body?: unknown): Promise<T> {
  try {
    return await client.node<T>(method, `/ext/negotiator${path}`, body);
  } catch (err) {
    if (err instanceof NodeApiError) {
      if (err.status === 404 && /^HTTP 404$/.test(err.message)) {
        throw new CloudCoinError('ENONEGOTIATOR', 'the node does not run the negotiator extension', ExitCode.failure);
      }
      const m = STATUS_EXIT[err.status] ?? { code: 'EFAILURE', exit: ExitCode.failure };
      throw new CloudCoinError(m.code, err.message, m.exit);
    }
    throw err;
  }
}

export interface OfferOptions extends OfferTerms {
  validity: number;
  host: Partial<HostSettings>;
}

export function createOffer(client: NodeClient, o: OfferOptions): Promise<{ offer: OfferInfo; host: HostSettings }> {
  return negotiatorApi(client, 'POST', '/offers', o);
}

export function withdrawOffer(client: NodeClient): Promise<{ withdrawn: boolean; hash: string }> {
  return negotiatorApi(client, 'DELETE', '/offers');
}

export async function listOffers(client: NodeClient, q: { maxPrice?: number; minReputation?: number; sort?: string }): Promise<OfferInfo[]> {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined) qs.set(k, String(v));
  return (await negotiatorApi<{ offers: OfferInfo[] }>(client, 'GET', `/offers?${qs}`)).offers;
}

export interface AcceptOptions {
  offer: string;
  size: number;
  duration: number;
  maxPrice?: number;
  minCollateral?: number;
  timeout: number;
}

/**
 * Runs a negotiation to its end. Funded: the result. Refused or no answer:
 * a CloudCoinError (exit 1; 5 when our wallet lacked funds), carrying the
 * outcome in its message.
 */
export async function acceptOffer(client: NodeClient, o: AcceptOptions): Promise<NegotiateResult> {
  const r = await negotiatorApi<NegotiateResult>(client, 'POST', '/negotiate', o);
  if (r.outcome === 'funded') return r;
  if (r.error) {
    throw new CloudCoinError(r.error.code, `negotiation ${r.negotiation.nid.slice(0, 16)} failed: ${r.error.message}`, r.error.code === 'EFUNDS' ? ExitCode.funds : ExitCode.failure);
  }
  if (r.outcome === 'refused') {
    const terms = r.refusedBy === 'renter' ? ` (the host countered at price ${r.negotiation.price}, size ${r.negotiation.size}, duration ${r.negotiation.duration})` : '';
    throw new CloudCoinError('EREFUSED', `the ${r.refusedBy} refused: ${r.reason}${terms}`, ExitCode.failure);
  }
  throw new CloudCoinError('ETIMEOUT', `no outcome within ${o.timeout / 1000} s (state ${r.negotiation.state}); is the host's node a peer of this one?`, ExitCode.failure);
}

export async function pending(client: NodeClient): Promise<PendingInfo[]> {
  return (await negotiatorApi<{ pending: PendingInfo[] }>(client, 'GET', '/pending')).pending;
}

export function approve(client: NodeClient, id: string): Promise<NegotiationInfo> {
  return negotiatorApi(client, 'POST', `/pending/${encodeURIComponent(id)}/approve`);
}

export function refuse(client: NodeClient, id: string, reason?: string): Promise<NegotiationInfo> {
  return negotiatorApi(client, 'POST', `/pending/${encodeURIComponent(id)}/refuse`, reason ? { reason } : {});
}

export function listContracts(client: NodeClient, role: string): Promise<{ contracts: ContractListItem[]; negotiating: NegotiationInfo[] }> {
  return negotiatorApi(client, 'GET', `/contracts?role=${encodeURIComponent(role)}`);
}

export function showContract(client: NodeClient, id: string): Promise<ContractInfo & { ratings: RatingInfo[] }> {
  return negotiatorApi(client, 'GET', `/contracts/${encodeURIComponent(id)}`);
}

export function rateContract(client: NodeClient, id: string, score: number, comment: string): Promise<RatingInfo> {
  return negotiatorApi(client, 'POST', `/contracts/${encodeURIComponent(id)}/rate`, { score, comment });
}

export function settleContract(client: NodeClient, id: string, fee?: number): Promise<{ txid: string; kind: string; value: number }> {
  return negotiatorApi(client, 'POST', `/contracts/${encodeURIComponent(id)}/settle`, fee === undefined ? {} : { fee });
}

export function reputation(client: NodeClient, key: string): Promise<Reputation & { key: string; ratings: RatingInfo[] }> {
  return negotiatorApi(client, 'GET', `/reputation/${encodeURIComponent(key)}`);
}
