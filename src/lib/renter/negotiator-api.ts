/**
 * The client of the node's Negotiator API (negotiator/routes.ts): one call per
 * `contract` command, with the API's error statuses turned into the
 * documented exit codes.
 */
import { CloudCoinError, ExitCode } from '../errors.js';
import type {
  ContractDetail, ContractListItem, HostSettings, NegotiateResult, NegotiationInfo, OfferInfo, OfferTerms, PendingInfo, RatingInfo, Reputation,
} from '../negotiator/index.js';
import { NodeApiError, type NodeClient } from '../node/node-client.js';

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

export function showContract(client: NodeClient, id: string): Promise<ContractDetail> {
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
