/**
 * `store hosts`: the renter's contracted hosts listed with what is known of
 * each, one added by hand under the policy's terms, one removed (marked, see
 * removed-hosts.ts), or enough chosen (host-choice.ts), all through the
 * node's Negotiator API.
 */
import type { RenterPolicy } from '../config/renter-policy.js';
import { CloudCoinError, ExitCode } from '../errors.js';
import type { ContractListItem, NegotiateResult, OfferInfo } from '../negotiator/index.js';
import type { NodeClient } from '../node/node-client.js';
import { chooseHosts, marketContracts, policyRequest, probeHost, rankOffers, type ChoiceResult, type HostMarket } from './host-choice.js';
import { acceptOffer, listContracts, listOffers, negotiatorApi, reputation } from './negotiator-api.js';
import { rememberThroughput } from './host-probes.js';
import { markHostRemoved, removedHosts } from './removed-hosts.js';

/** The node's Negotiator API as a HostMarket. */
export function nodeMarket(client: NodeClient): HostMarket {
  return {
    offers: () => listOffers(client, {}),
    contracts: async () => marketContracts(await listContracts(client, 'renter')),
    negotiate: (req) => negotiatorApi<NegotiateResult>(client, 'POST', '/negotiate', req),
  };
}

export interface StoreHostRow {
  hostKey: string;
  contractId: string;
  state: string;
  endHeight: number;
  /** The host's file server, from its offer; null when it has none now. */
  url: string | null;
  price: number;
  collateral: number;
  reputation: number;
  /** Share of proof windows proven on its settled contracts; null with none. */
  fulfilment: number | null;
  /** Round trip of GET /status, ms; null when it did not answer or has no URL. */
  latencyMs: number | null;
  /** Bytes a second of a 1 MiB GET /v1/probe; null when it did not answer or does not serve the probe. */
  throughputBps: number | null;
  removed: boolean;
  /** The contract this one renewed, and the one that renewed it. */
  renewedFrom: string | null;
  renewedTo: string | null;
}

/** The renter's funded and active contracts, one row each (a renewed host has two until the old one ends). */
export async function listStoreHosts(client: NodeClient, datadir: string, probe = probeHost): Promise<StoreHostRow[]> {
  const [contracts, offers, removed] = await Promise.all([listContracts(client, 'renter'), listOffers(client, {}), removedHosts(datadir)]);
  const live = contracts.contracts.filter((c) => c.state === 'funded' || c.state === 'active');
  const urlOf = new Map(offers.filter((o) => o.url).map((o) => [o.hostKey, o.url]));
  const keys = [...new Set(live.map((c) => c.hostKey))];
  const [reps, probes] = await Promise.all([
    Promise.all(keys.map((k) => reputation(client, k))),
    Promise.all(keys.map((k) => (urlOf.has(k) ? probe(urlOf.get(k)!) : Promise.resolve(null)))),
  ]);
  const repOf = new Map(keys.map((k, i) => [k, reps[i]]));
  const probeOf = new Map(keys.map((k, i) => [k, probes[i]]));
  await rememberThroughput(datadir, new Map(keys.filter((k) => probeOf.get(k)?.outcome === 'measured').map((k) => [k, probeOf.get(k)!.bytesPerSecond!])));
  return live
    .map((c: ContractListItem): StoreHostRow => ({
      hostKey: c.hostKey,
      contractId: c.id,
      state: c.state,
      endHeight: c.endHeight,
      url: urlOf.get(c.hostKey) ?? null,
      price: c.price,
      collateral: c.collateralRate,
      reputation: repOf.get(c.hostKey)!.score,
      fulfilment: repOf.get(c.hostKey)!.fulfilment.ratio,
      latencyMs: probeOf.get(c.hostKey)?.latencyMs ?? null,
      throughputBps: probeOf.get(c.hostKey)?.bytesPerSecond ?? null,
      removed: removed.has(c.hostKey),
      renewedFrom: c.fulfilment?.renewedFrom ?? null,
      renewedTo: c.fulfilment?.renewedTo ?? null,
    }))
    .sort((a, b) => a.hostKey.localeCompare(b.hostKey) || a.endHeight - b.endHeight);
}

function _offerFor(offers: OfferInfo[], target: string): OfferInfo {
  const t = target.toLowerCase();
  const matches = offers.filter((o) => o.hash === t || o.hostKey === t);
  if (matches.length === 0) throw new CloudCoinError('ENOTFOUND', `no offer known with hash or host key ${target} (see contract offers)`, ExitCode.failure);
  return matches.reduce((a, b) => (b.sequence > a.sequence ? b : a));
}

/**
 * Contracts the host of an offer (by offer hash or host key) on the policy's
 * terms, if the policy allows it. A host already contracted is a conflict
 * (exit 7): one contract a host is what keeps two shards of a sector apart.
 */
export async function addStoreHost(client: NodeClient, datadir: string, policy: RenterPolicy, target: string): Promise<NegotiateResult & { hostKey: string }> {
  const market = nodeMarket(client);
  const [offers, contracts, removed] = await Promise.all([market.offers(), market.contracts(), removedHosts(datadir)]);
  const offer = _offerFor(offers, target);
  const { setAside } = await rankOffers([offer], contracts, policy, { datadir });
  const why = setAside.find((s) => s.hash === offer.hash)?.reason;
  if (why === 'host already contracted') throw new CloudCoinError('ECONFLICT', `host ${offer.hostKey} is contracted already: one contract a host`, ExitCode.conflict);
  if (why) throw new CloudCoinError('EPOLICY', `the renter policy does not allow host ${offer.hostKey.slice(0, 16)}: ${why} (flags override the policy)`, ExitCode.failure);
  const r = await acceptOffer(client, policyRequest(offer.hash, policy, 60_000));
  if (removed.has(offer.hostKey)) await markHostRemoved(datadir, offer.hostKey, false);
  return { ...r, hostKey: offer.hostKey };
}

/** Marks a contracted host removed; its data stays readable until repair moves it. */
export async function removeStoreHost(client: NodeClient, datadir: string, hostKey: string): Promise<{ hostKey: string; removed: string[] }> {
  const key = hostKey.toLowerCase();
  const contracts = (await listContracts(client, 'renter')).contracts;
  if (!contracts.some((c) => c.hostKey === key)) throw new CloudCoinError('ENOTFOUND', `no contract with host ${hostKey}`, ExitCode.failure);
  return { hostKey: key, removed: [...(await markHostRemoved(datadir, key))] };
}

/** Contracts hosts until the policy's are; exit 6 when fewer could be. */
export async function chooseStoreHosts(client: NodeClient, datadir: string, policy: RenterPolicy): Promise<ChoiceResult> {
  return chooseHosts(nodeMarket(client), policy, { exclude: await removedHosts(datadir), datadir });
}
