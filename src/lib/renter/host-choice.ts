/**
 * How the renter chooses hosts from the offers its node knows (docs/store.md,
 * "Which hosts"): offers that do not fit the policy are set aside with the
 * reason, the rest are ranked by a score of price, collateral, reputation,
 * fulfilment record and measured latency and throughput (or the throughput
 * last measured, host-probes.ts, when a host refuses the probe for now), and
 * the best are contracted in turn until enough have been funded. Never two
 * contracts with one host key: the store makes one backend a host, and that
 * is what keeps two shards of a sector off one host.
 *
 * Used by `store hosts choose` through the node's HTTP API and by the
 * renter's daemon in-process, through the same HostMarket seam.
 */
import type { RenterPolicy } from '../config/renter-policy.js';
import { CloudCoinError, ExitCode } from '../errors.js';
import type { ContractInfo } from '../negotiator/entries.js';
import type { NegotiationInfo } from '../negotiator/negotiation.js';
import type { OfferInfo } from '../negotiator/node/offerbook.js';
import type { NegotiateRequest, NegotiateResult } from '../negotiator/node/peernegotiations.js';
import { paymentOf } from '../net/terms.js';
import { sendHttp } from '../server/http-request.js';
import { PROBE_MAX_BYTES } from '../server/probe-route.js';
import { rememberThroughput, rememberedThroughput } from './host-probes.js';

/** A contract of this renter as choosing sees it. */
export type MarketContract = Pick<ContractInfo, 'id' | 'state' | 'hostKey' | 'payment' | 'size' | 'endHeight'>;

/** What choosing needs of a node: its offers, this renter's contracts, and a negotiation run to its end. */
export interface HostMarket {
  offers(): Promise<OfferInfo[]>;
  /** Contracts whose renter is this node, funded ones not yet in a block included. */
  contracts(): Promise<MarketContract[]>;
  negotiate(req: NegotiateRequest): Promise<NegotiateResult>;
}

/**
 * The renter's contracts on chain and those it funded that no block holds
 * yet (as `funded`): a host contracted a moment ago is contracted, and its
 * payment spent, before the next block.
 */
export function marketContracts(list: { contracts: MarketContract[]; negotiating: NegotiationInfo[] }): MarketContract[] {
  const funded = list.negotiating
    .filter((n) => n.role === 'renter' && n.state === 'funded')
    .map((n): MarketContract => ({ id: n.contractId, state: 'funded', hostKey: n.hostKey, payment: paymentOf(n), size: n.size, endHeight: n.startHeight + n.duration }));
  return [...list.contracts, ...funded];
}

export interface RankedOffer {
  offer: OfferInfo;
  score: number;
  /** Round trip of GET /status on the host's file server, ms. */
  latencyMs: number;
  /** Bytes a second of its GET /v1/probe now; null when this probe measured nothing. */
  throughputBps: number | null;
  throughputSource: ThroughputSource;
}

export interface SetAside {
  hash: string;
  hostKey: string;
  reason: string;
}

/**
 * Score weights; they sum to 1, so a score is 0..1. How well a host serves
 * (fulfilment, latency, throughput) weighs 0.35, the money terms and ratings
 * the rest. Throughput has the larger share of the two measures because a
 * backup moves shards of MiBs, whose time is mostly transfer, and its
 * measure holds a round trip already; latency keeps a little for the small
 * requests (lists, proofs, revisions). The two together weigh less than the
 * proof record, one sample from one place against what the chain proves;
 * the record weighs no more than the ratings because a new host has none
 * and scores 0.5 on it, where every host that answers can be measured.
 */
export const SCORE_WEIGHTS = { price: 0.3, collateral: 0.15, reputation: 0.2, fulfilment: 0.2, latency: 0.05, throughput: 0.1 } as const;

/** Throughput that scores half: 10 MB/s (80 Mbit/s) moves a 4 MiB shard in about 0.4 s. */
export const THROUGHPUT_HALF_BPS = 10_000_000;

/** A contract holds the renter's coins from funding until it is settled or refunded. */
function _holdsCoins(c: MarketContract): boolean {
  return c.state === 'funded' || c.state === 'active';
}

/** Base units the renter has locked in contract payments now. */
export function allowanceSpent(contracts: MarketContract[]): number {
  return contracts.filter(_holdsCoins).reduce((n, c) => n + c.payment, 0);
}

/**
 * The offer's score, 0..1: cheaper is better (price against the policy's
 * highest), collateral up to twice the price (what Sia's hosts put up),
 * reputation (1..5), share of proof windows proven on settled contracts (0.5
 * with none), latency (halved at 200 ms) and throughput (halved at
 * THROUGHPUT_HALF_BPS; 0.5 for null, no figure, as a host with no record).
 */
export function scoreOffer(offer: OfferInfo, policy: RenterPolicy, latencyMs: number, throughputBps: number | null): number {
  const w = SCORE_WEIGHTS;
  const price = policy.maxPrice === 0 ? 1 : 1 - offer.price / policy.maxPrice;
  const collateral = Math.min(offer.collateral / Math.max(offer.price, 1), 2) / 2;
  const reputation = (offer.reputation.score - 1) / 4;
  const fulfilment = offer.reputation.fulfilment.ratio ?? 0.5;
  const latency = 1 / (1 + latencyMs / 200);
  const throughput = throughputBps === null ? 0.5 : throughputBps / (throughputBps + THROUGHPUT_HALF_BPS);
  return w.price * price + w.collateral * collateral + w.reputation * reputation + w.fulfilment * fulfilment + w.latency * latency + w.throughput * throughput;
}

/** Why `offer` cannot be taken under `policy`, or null when it can. */
export function unfitReason(offer: OfferInfo, policy: RenterPolicy, allowanceLeft: number): string | null {
  if (!offer.url) return 'no file server URL';
  if (offer.price > policy.maxPrice) return `price ${offer.price} above maxPrice ${policy.maxPrice}`;
  if (offer.collateral < policy.minCollateral) return `collateral ${offer.collateral} below minCollateral ${policy.minCollateral}`;
  if (offer.reputation.score < policy.minReputation) return `reputation ${offer.reputation.score.toFixed(2)} below minReputation ${policy.minReputation}`;
  if (policy.contractSize < offer.minSize || policy.contractSize > offer.maxSize) return `contractSize ${policy.contractSize} outside ${offer.minSize}..${offer.maxSize}`;
  if (policy.duration < offer.minDuration || policy.duration > offer.maxDuration) return `duration ${policy.duration} outside ${offer.minDuration}..${offer.maxDuration}`;
  const payment = paymentOf({ price: offer.price, size: policy.contractSize, duration: policy.duration });
  if (payment > allowanceLeft) return `payment ${payment} above the allowance left (${allowanceLeft})`;
  return null;
}

/** Milliseconds of one GET /status of a file server; null when it does not answer within `timeoutMs`. */
export async function probeLatency(url: string, timeoutMs = 5_000): Promise<number | null> {
  try {
    const t0 = performance.now();
    const res = await sendHttp(new URL('status', url), { method: 'GET', headers: { accept: 'application/json' }, timeoutMs });
    return res.status === 200 ? performance.now() - t0 : null;
  } catch {
    return null;
  }
}

/**
 * How a GET /v1/probe went: timed; refused for now (429 or 503: the
 * server's limits, spent by this renter a moment ago or by others); or
 * failed any other way (404, another status, a body of the wrong length,
 * an error or no answer in time).
 */
export type ProbeOutcome = 'measured' | 'refused' | 'failed';

/** What probing a host's file server measured. */
export interface HostProbe {
  /** Round trip of GET /status, ms. */
  latencyMs: number;
  /** Bytes a second of GET /v1/probe; null unless `outcome` is 'measured'. */
  bytesPerSecond: number | null;
  outcome: ProbeOutcome;
}

/**
 * Where the throughput a host was scored on came from: its probe now; the
 * figure its probe last gave this renter, as it refuses now; nothing (it
 * refuses and none is remembered: neutral); or a failed probe (the slowest).
 */
export type ThroughputSource = 'measured' | 'remembered' | 'refused' | 'failed';

/**
 * The throughput `scoreOffer` takes for `probe`, given the host's
 * remembered figure. A refusal is what an honest host under load gives, so
 * it is not held against a host this renter never measured. Any other
 * failure scores as the slowest: every file server of this release serves
 * the probe, so one that does not is older or hides a slow link.
 */
export function scoredThroughput(probe: HostProbe, remembered: number | undefined): { bytesPerSecond: number | null; source: ThroughputSource } {
  if (probe.outcome === 'measured') return { bytesPerSecond: probe.bytesPerSecond, source: 'measured' };
  if (probe.outcome === 'failed') return { bytesPerSecond: 0, source: 'failed' };
  return remembered === undefined ? { bytesPerSecond: null, source: 'refused' } : { bytesPerSecond: remembered, source: 'remembered' };
}

/** The throughput probe running now: hosts probed at once would share this end's link, and each would be measured at a fraction of it. */
let _probing: Promise<unknown> = Promise.resolve();

/**
 * Bytes a second of one GET /v1/probe of the largest size the server gives,
 * timed from request to last byte, one probe at a time in this process. One
 * round trip, and TCP's slow start, are part of that time: at 1 MiB they
 * still weigh, as they do in each shard's GET, which is what the figure is
 * meant to foretell; it is no measure of the link alone.
 */
function _probeThroughput(url: string, timeoutMs: number): Promise<Omit<HostProbe, 'latencyMs'>> {
  const run = _probing.then(() => _timedProbe(url, timeoutMs));
  _probing = run;
  return run;
}

async function _timedProbe(url: string, timeoutMs: number): Promise<Omit<HostProbe, 'latencyMs'>> {
  try {
    const t0 = performance.now();
    const res = await sendHttp(new URL(`v1/probe?bytes=${PROBE_MAX_BYTES}`, url), { method: 'GET', timeoutMs, maxBody: PROBE_MAX_BYTES });
    const seconds = (performance.now() - t0) / 1000;
    if (res.status === 200 && res.body.length === PROBE_MAX_BYTES) return { bytesPerSecond: PROBE_MAX_BYTES / seconds, outcome: 'measured' };
    return { bytesPerSecond: null, outcome: res.status === 429 || res.status === 503 ? 'refused' : 'failed' };
  } catch {
    return { bytesPerSecond: null, outcome: 'failed' };
  }
}

/** Latency and throughput of a file server; null when it does not answer GET /status within `timeoutMs`. */
export async function probeHost(url: string, timeoutMs = 5_000): Promise<HostProbe | null> {
  const latencyMs = await probeLatency(url, timeoutMs);
  if (latencyMs === null) return null;
  // A MiB may take longer than a status page; a host that needs more than twice as long is not worth the wait.
  return { latencyMs, ...(await _probeThroughput(url, 2 * timeoutMs)) };
}

export interface RankOptions {
  /** Host keys not to take (removed or being replaced). */
  exclude?: Set<string>;
  probe?: (url: string) => Promise<HostProbe | null>;
  /** The renter's data directory, where throughput figures are remembered (host-probes.ts); without it none is remembered or recalled. */
  datadir?: string;
}

/**
 * The offers `policy` allows, best first, and those set aside with why:
 * our own, a host already contracted or in `exclude`, one that does not fit
 * the policy or the allowance left, one whose file server does not answer.
 * The newest offer of a host stands for it. Each throughput measured is
 * remembered in `options.datadir`.
 */
export async function rankOffers(offers: OfferInfo[], contracts: MarketContract[], policy: RenterPolicy, options: RankOptions = {}): Promise<{ ranked: RankedOffer[]; setAside: SetAside[] }> {
  const { exclude = new Set(), probe = probeHost, datadir } = options;
  const contracted = new Set(contracts.filter(_holdsCoins).map((c) => c.hostKey));
  const left = policy.allowance - allowanceSpent(contracts);
  const newest = new Map<string, OfferInfo>();
  for (const o of offers) if (!newest.has(o.hostKey) || newest.get(o.hostKey)!.sequence < o.sequence) newest.set(o.hostKey, o);
  const setAside: SetAside[] = [];
  const fit: OfferInfo[] = [];
  for (const o of newest.values()) {
    const reason = o.mine ? 'our own offer' : contracted.has(o.hostKey) ? 'host already contracted' : exclude.has(o.hostKey) ? 'host removed or replaced' : unfitReason(o, policy, left);
    if (reason) setAside.push({ hash: o.hash, hostKey: o.hostKey, reason });
    else fit.push(o);
  }
  const remembered = datadir === undefined || fit.length === 0 ? new Map<string, number>() : await rememberedThroughput(datadir);
  const ranked: RankedOffer[] = [];
  await Promise.all(fit.map(async (offer) => {
    const measured = await probe(offer.url);
    if (measured === null) {
      setAside.push({ hash: offer.hash, hostKey: offer.hostKey, reason: 'file server does not answer' });
      return;
    }
    const scored = scoredThroughput(measured, remembered.get(offer.hostKey));
    const score = scoreOffer(offer, policy, measured.latencyMs, scored.bytesPerSecond);
    ranked.push({ offer, latencyMs: measured.latencyMs, throughputBps: measured.bytesPerSecond, throughputSource: scored.source, score });
  }));
  if (datadir !== undefined) await rememberThroughput(datadir, new Map(ranked.filter((r) => r.throughputBps !== null).map((r) => [r.offer.hostKey, r.throughputBps!])));
  ranked.sort((a, b) => b.score - a.score || a.offer.hostKey.localeCompare(b.offer.hostKey));
  return { ranked, setAside };
}

export interface Chosen {
  hostKey: string;
  offer: string;
  contractId: string;
  txid: string;
  score: number;
  latencyMs: number;
  throughputBps: number | null;
  throughputSource: ThroughputSource;
}

export interface ChoiceResult {
  /** Hosts wanted beyond those already contracted. */
  wanted: number;
  contracted: Chosen[];
  /** Offers tried and not funded, with the outcome. */
  failed: SetAside[];
  setAside: SetAside[];
}

/** The request that contracts `offer` on `policy`'s terms. */
export function policyRequest(offer: string, policy: RenterPolicy, timeout = 30_000): NegotiateRequest & { timeout: number } {
  return { offer, size: policy.contractSize, duration: policy.duration, maxPrice: policy.maxPrice, minCollateral: policy.minCollateral, timeout };
}

/**
 * Contracts the best offers until `want` more hosts are funded (default:
 * until `policy.hosts` hosts are). A wallet without the funds stops it with
 * EFUNDS (exit 5), one the node cannot sign with with ELOCKED (exit 4); a
 * refusal or silence moves on to the next offer.
 */
export async function chooseHosts(market: HostMarket, policy: RenterPolicy, options: RankOptions & { want?: number } = {}): Promise<ChoiceResult> {
  const [offers, contracts] = await Promise.all([market.offers(), market.contracts()]);
  const have = new Set(contracts.filter((c) => _holdsCoins(c) && !options.exclude?.has(c.hostKey)).map((c) => c.hostKey)).size;
  const wanted = options.want ?? Math.max(0, policy.hosts - have);
  // Nothing to contract: no host's file server is probed (the daemon asks at every block).
  if (wanted === 0) return { wanted, contracted: [], failed: [], setAside: [] };
  const { ranked, setAside } = await rankOffers(offers, contracts, policy, options);
  const result: ChoiceResult = { wanted, contracted: [], failed: [], setAside };
  let left = policy.allowance - allowanceSpent(contracts);
  for (const r of ranked) {
    if (result.contracted.length >= wanted) break;
    const payment = paymentOf({ price: r.offer.price, size: policy.contractSize, duration: policy.duration });
    if (payment > left) {
      result.setAside.push({ hash: r.offer.hash, hostKey: r.offer.hostKey, reason: `payment ${payment} above the allowance left (${left})` });
      continue;
    }
    const out = await market.negotiate(policyRequest(r.offer.hash, policy));
    if (out.outcome === 'funded' && out.txid) {
      left -= payment;
      result.contracted.push({ hostKey: r.offer.hostKey, offer: r.offer.hash, contractId: out.negotiation.contractId, txid: out.txid, score: r.score, latencyMs: r.latencyMs, throughputBps: r.throughputBps, throughputSource: r.throughputSource });
      continue;
    }
    // Our wallet's failures would fail with every other host too: stop rather than waste their time.
    if (out.error?.code === 'EFUNDS') throw new CloudCoinError('EFUNDS', `the wallet cannot fund a contract with ${r.offer.hostKey.slice(0, 16)}: ${out.error.message}`, ExitCode.funds);
    if (out.error?.code === 'ELOCKED') throw new CloudCoinError('ELOCKED', out.error.message, ExitCode.auth);
    const why = out.error ? out.error.message : out.outcome === 'refused' ? `the ${out.refusedBy} refused: ${out.reason}` : 'no answer in time';
    result.failed.push({ hash: r.offer.hash, hostKey: r.offer.hostKey, reason: why });
  }
  return result;
}
