/**
 * The NegotiatorService's offers: the live offers of the OfferPool as a
 * renter browses them, with each host's reputation, and this node's own
 * side as a host, the offer it signs and withdraws and the settings
 * (HostPolicy limits, auto or manual mode) the Negotiator answers proposes
 * by. The settings persist in the service's meta database.
 */
import type { KeyPair } from '../../crypto/sig.js';
import { isProtocolError } from '../../net/errors.js';
import { InvPacket } from '../../net/inv.js';
import { MAX_ADDRESSES, OfferPacket, type OfferFields } from '../../net/offer.js';
import { types } from '../../net/packets.js';
import { negotiatorError } from '../errors.js';
import type { OfferPool } from '../offerpool.js';
import { unixNow } from '../params.js';
import { HostPolicy, type HostLimits } from '../policy.js';
import type { Registry } from '../registry.js';
import { reputationFromRegistry, type Reputation } from '../reputation.js';
import { standingOf } from '../standing.js';
import type { RegistryDB } from '../undo.js';
import type { NodeAdapter } from './adapter.js';

/** The host's settings: its HostPolicy limits and whether proposes wait for `approve`. */
export interface HostSettings extends HostLimits {
  mode: 'auto' | 'manual';
}

export const DEFAULT_HOST: HostSettings = { priceFloor: 0, capacity: 0, maxContracts: 100, maxFee: 100_000, mode: 'auto' };

/** What a host offers: the terms of its OfferPacket (src/lib/net/offer.ts). */
export type OfferTerms = Pick<OfferFields, 'price' | 'collateral' | 'minSize' | 'maxSize' | 'minDuration' | 'maxDuration' | 'url'>;

export interface OfferRequest extends OfferTerms {
  /** Where renters dial this node (`host:port`); default: the node's reachable addresses (NodeAdapter.reachableAddresses). */
  addresses?: string[];
  /** Seconds the offer stays valid. */
  validity: number;
  /** Host settings to change with this offer. */
  host?: Partial<HostSettings>;
}

export interface OfferInfo extends OfferTerms {
  hash: string;
  /** Where the host's node takes connections (`host:port`); empty when its offer gives none. */
  addresses: string[];
  hostKey: string;
  sequence: number;
  expiry: number;
  mine: boolean;
  reputation: Reputation;
  /** The host key's standing on chain (standing.ts), what a full offer pool ranks its offers by. */
  standing: number;
}

const HOST_KEY = Buffer.from('host');

function _offerInfo(o: OfferPacket, mine: boolean, reputation: Reputation, standing: number): OfferInfo {
  return {
    hash: o.hash().toString('hex'),
    hostKey: Buffer.from(o.hostKey).toString('hex'),
    sequence: o.sequence,
    expiry: o.expiry,
    price: o.price,
    collateral: o.collateral,
    minSize: o.minSize,
    maxSize: o.maxSize,
    minDuration: o.minDuration,
    maxDuration: o.maxDuration,
    url: o.url,
    addresses: o.addresses,
    mine,
    reputation,
    standing,
  };
}

export class OfferBook {
  private host: HostSettings = { ...DEFAULT_HOST };
  private hostPolicy = new HostPolicy(this._limits());
  /** Of the last offer or withdrawal we signed: offerOf forgets a withdrawal, and the next offer must still outrank it. */
  private lastSequence = 0;

  constructor(
    private readonly identity: KeyPair,
    private readonly pool: OfferPool,
    private readonly registry: Registry,
    private readonly node: NodeAdapter,
    private readonly meta: RegistryDB,
  ) {}

  get policy(): HostPolicy {
    return this.hostPolicy;
  }

  get mode(): 'auto' | 'manual' {
    return this.host.mode;
  }

  private _limits(): HostLimits {
    const { priceFloor, capacity, maxContracts, maxFee } = this.host;
    return { priceFloor, capacity, maxContracts, maxFee };
  }

  /** Reads the saved host settings; `meta` must be open. */
  async load(): Promise<void> {
    const saved = await this.meta.get(HOST_KEY);
    if (saved) this.host = { ...DEFAULT_HOST, ...JSON.parse(saved.toString('utf8')) };
    this.hostPolicy = new HostPolicy(this._limits());
  }

  async createOffer(req: OfferRequest): Promise<OfferInfo> {
    if (req.host) await this.setHost(req.host);
    const now = unixNow();
    const current = this.pool.offerOf(this.identity.publicKey, now);
    const sequence = Math.max(now, (current?.sequence ?? 0) + 1, this.lastSequence + 1);
    this.lastSequence = sequence;
    let offer: OfferPacket;
    try {
      offer = new OfferPacket({
        flags: 0, hostKey: this.identity.publicKey, sequence, expiry: now + req.validity,
        price: req.price, collateral: req.collateral, minSize: req.minSize, maxSize: req.maxSize,
        minDuration: req.minDuration, maxDuration: req.maxDuration, url: req.url,
        addresses: req.addresses ?? this.node.reachableAddresses().slice(0, MAX_ADDRESSES),
      }).sign(this.identity.secretKey);
      offer.check();
    } catch (err) {
      throw negotiatorError('EUSAGE', `invalid offer: ${(err as Error).message}`);
    }
    await this._addOwn(offer, now);
    const key = this.identity.publicKey;
    return _offerInfo(offer, true, await reputationFromRegistry(this.registry, key), await standingOf(this.registry, key));
  }

  async withdrawOffer(): Promise<{ withdrawn: boolean; hash: string }> {
    const now = unixNow();
    const current = this.pool.offerOf(this.identity.publicKey, now);
    if (!current) throw negotiatorError('ENOTFOUND', 'this node has no live offer');
    const sequence = Math.max(now, current.sequence + 1, this.lastSequence + 1);
    this.lastSequence = sequence;
    const w = OfferPacket.withdrawal(this.identity.publicKey, sequence, current.expiry).sign(this.identity.secretKey);
    await this._addOwn(w, now);
    return { withdrawn: true, hash: w.hash().toString('hex') };
  }

  private async _addOwn(offer: OfferPacket, now: number): Promise<void> {
    try {
      const added = await this.pool.add(offer, now);
      if (added.added) this.node.broadcast(types.INV, new InvPacket([added.hash]).encode());
    } catch (err) {
      if (isProtocolError(err)) throw negotiatorError('EUSAGE', `offer not accepted: ${err.reason}: ${err.message}`);
      throw err;
    }
  }

  async setHost(settings: Partial<HostSettings>): Promise<HostSettings> {
    const next = { ...this.host, ...Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)) } as HostSettings;
    if (next.mode !== 'auto' && next.mode !== 'manual') throw negotiatorError('EUSAGE', 'mode must be auto or manual');
    let policy: HostPolicy;
    try {
      policy = new HostPolicy({ priceFloor: next.priceFloor, capacity: next.capacity, maxContracts: next.maxContracts, maxFee: next.maxFee });
    } catch (err) {
      throw negotiatorError('EUSAGE', (err as Error).message);
    }
    await this.meta.batch([{ type: 'put', key: HOST_KEY, value: Buffer.from(JSON.stringify(next)) }]);
    this.host = next;
    this.hostPolicy = policy;
    return { ...next };
  }

  getHost(): HostSettings {
    return { ...this.host };
  }

  async listOffers(q: { maxPrice?: number; minReputation?: number; sort?: string } = {}): Promise<OfferInfo[]> {
    const mine = Buffer.from(this.identity.publicKey);
    const out: OfferInfo[] = [];
    for (const o of this.pool.list(unixNow())) {
      if (q.maxPrice !== undefined && o.price > q.maxPrice) continue;
      const rep = await reputationFromRegistry(this.registry, o.hostKey);
      if (q.minReputation !== undefined && rep.score < q.minReputation) continue;
      out.push(_offerInfo(o, mine.equals(o.hostKey), rep, await standingOf(this.registry, o.hostKey)));
    }
    const sort = q.sort ?? 'price';
    const by: Record<string, (a: OfferInfo, b: OfferInfo) => number> = {
      price: (a, b) => a.price - b.price,
      collateral: (a, b) => b.collateral - a.collateral,
      reputation: (a, b) => b.reputation.score - a.reputation.score,
      expiry: (a, b) => b.expiry - a.expiry,
    };
    if (!by[sort]) throw negotiatorError('EUSAGE', `sort must be one of ${Object.keys(by).join(', ')}`);
    return out.sort((a, b) => by[sort](a, b) || a.hash.localeCompare(b.hash));
  }
}
