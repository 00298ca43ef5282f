/**
 * The Negotiator running inside a node: the OfferPool, the Negotiator and
 * the contract registry wired to a node's peers, chain, mempool and wallet
 * through a NodeAdapter (adapter.ts), never the node itself. extension.ts
 * plugs it into the daemon over bcoin; routes.ts puts its methods on the
 * HTTP API. Everything a peer sends goes through `dispatch` (one entry
 * point); a ProtocolError becomes the peer's ban score.
 *
 * The service answers registry queries itself and hands the rest to its
 * parts: offerbook.ts (offers and host settings), peernegotiations.ts
 * (negotiations with peers, and why a renter must be connected to the
 * host's node), chainactions.ts (rating and refund transactions) and
 * contract-fulfilment.ts (what the daemon does on its own for live and
 * ending contracts: challenges, revisions, settlements, ratings).
 */
import type { Level } from 'level';
import type { KeyPair } from '../../crypto/sig.js';
import { MisbehaviorError } from '../../ext/types.js';
import { isProtocolError } from '../../net/errors.js';
import { MAX_HASHES } from '../../net/hashlist.js';
import { InvPacket } from '../../net/inv.js';
import { decode, types, type Packet } from '../../net/packets.js';
import { ProposePacket } from '../../net/propose.js';
import type { RefuseReasonValue } from '../../net/refuse.js';
import { dispatch } from '../dispatch.js';
import type { ContractEntry, ContractInfo, RatingInfo } from '../entries.js';
import { negotiatorError } from '../errors.js';
import type { EscrowKind } from '../escrow.js';
import { ChainIndexer } from '../indexer.js';
import type { NegotiationInfo } from '../negotiation.js';
import { Negotiator } from '../negotiator.js';
import { OfferPool } from '../offerpool.js';
import { hexParam, unixNow } from '../params.js';
import { Registry } from '../registry.js';
import { reputationFromRegistry, type Reputation } from '../reputation.js';
import { marketContracts } from '../../renter/host-choice.js';
import { standingOf } from '../standing.js';
import type { RegistryDB } from '../undo.js';
import type { NodeAdapter, NodePeer } from './adapter.js';
import { ChainActions } from './chainactions.js';
import { ContractFulfilment, type ContractFulfilmentOptions, type FulfilmentInfo } from './contract-fulfilment.js';
import type { CommitmentState } from './fulfilment-store.js';
import { OfferBook, type HostSettings, type OfferInfo, type OfferRequest } from './offerbook.js';
import { PeerNegotiations, type NegotiateRequest, type NegotiateResult, type PendingInfo } from './peernegotiations.js';

export interface ContractListItem extends ContractInfo {
  role: 'renter' | 'host';
  fulfilment: FulfilmentInfo | null;
}

/** One contract as `contract show` reads it: `tipHeight` is the registry's height its state is judged at (the file server reads it). */
export interface ContractDetail extends ContractInfo {
  ratings: RatingInfo[];
  /** Null when this node is not a party. */
  fulfilment: FulfilmentInfo | null;
  tipHeight: number;
}

const EXPIRE_EVERY_MS = 5_000;

export interface NegotiatorServiceOptions extends ContractFulfilmentOptions {
  /** The offer pool's size (OfferPoolOptions.maxOffers). */
  maxOffers?: number;
  /** Seconds an unfunded reservation lasts (NegotiatorOptions.holdSeconds). */
  holdSeconds?: number;
}

export class NegotiatorService {
  readonly identity: KeyPair;
  readonly pool: OfferPool;
  readonly registry: Registry;
  readonly negotiator: Negotiator;
  private readonly indexer: ChainIndexer;
  private readonly offers: OfferBook;
  private readonly negotiations: PeerNegotiations;
  private readonly chainActions: ChainActions;
  readonly fulfilment: ContractFulfilment;
  private timer: NodeJS.Timeout | null = null;
  private readonly meta: RegistryDB;

  /** `db` is the service's own LevelDB (the extension's), open or opening; the service does not close it. */
  constructor(
    private readonly node: NodeAdapter,
    db: Level<string, Buffer>,
    identity: KeyPair,
    options: NegotiatorServiceOptions = {},
  ) {
    this.identity = identity;
    const sub = (name: string): RegistryDB => db.sublevel<Buffer, Buffer>(name, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    this.meta = sub('meta');
    this.registry = new Registry(sub('registry'));
    this.pool = new OfferPool({ db: sub('offers'), maxOffers: options.maxOffers, standing: (key) => standingOf(this.registry, key) });
    this.indexer = new ChainIndexer(node.chain, this.registry, (m) => node.logger.error(`negotiator: ${m}`));
    const offers = new OfferBook(identity, this.pool, this.registry, node, this.meta);
    this.offers = offers;
    this.negotiator = new Negotiator({
      identity,
      wallet: {
        share: (amount) => node.wallet.funder().share(amount),
        sign: (mtx, inputs) => node.wallet.funder().sign(mtx, inputs),
        release: (share) => node.wallet.funder().release?.(share),
      },
      offers: this.pool,
      holdSeconds: options.holdSeconds,
      unspent: node.coin && (async (c) => {
        const coin = await node.coin!(c.hash, c.index);
        return coin !== null && coin.value === c.value && Buffer.compare(coin.script, c.script) === 0;
      }),
      host: {
        get policy() { return offers.policy; },
        get mode() { return offers.mode; },
        load: () => this._load(),
      },
    });
    this.negotiations = new PeerNegotiations(node, identity, this.pool, this.negotiator);
    this.chainActions = new ChainActions(node, identity, this.registry, () => this.synced());
    const market = { offers: () => this.listOffers(), contracts: async () => marketContracts(await this.contracts('renter')), negotiate: (r: NegotiateRequest) => this.negotiate(r) };
    this.fulfilment = new ContractFulfilment(node, identity, this.registry, () => this.synced(), sub('fulfilment'), this.pool, this.chainActions, options, market);
  }

  async open(): Promise<void> {
    await this.meta.open();
    await this.offers.load();
    await this.registry.open();
    await this.pool.open(unixNow());
    await this.indexer.open();
    await this.fulfilment.open();
    this.node.on('peer open', this._onPeerOpen);
    this.node.on('peer close', this._onPeerClose);
    this.timer = setInterval(() => void this._expire(), EXPIRE_EVERY_MS);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.node.off('peer open', this._onPeerOpen);
    this.node.off('peer close', this._onPeerClose);
    this.negotiations.close();
    await this.fulfilment.close();
    await this.indexer.close();
    await this.registry.close();
    await this.pool.close();
    await this.meta.close();
  }

  /** Waits until the registry has indexed the chain tip (for tests and queries right after a block). */
  synced(): Promise<void> {
    return this.indexer.sync();
  }

  private async _expire(): Promise<void> {
    try {
      const now = unixNow();
      await this.pool.expire(now);
      await this.negotiator.expire(now);
      this.negotiations.prune();
    } catch (err) {
      this.node.logger.error(`negotiator: expiry failed: ${(err as Error).message}`);
    }
  }

  /** A new peer hears of every live offer we hold, as a fresh mempool would, and gets our proposes no one has answered yet. */
  private readonly _onPeerOpen = (peer: NodePeer): void => {
    const hashes = this.pool.list(unixNow()).map((o) => o.hash());
    for (let i = 0; i < hashes.length; i += MAX_HASHES) this.node.send(peer, types.INV, new InvPacket(hashes.slice(i, i + MAX_HASHES)).encode());
    this.negotiations.peerOpened(peer);
  };

  private readonly _onPeerClose = (peer: NodePeer): void => {
    this.pool.removePeer(String(peer.id));
  };

  /** Bytes and contracts the host has on chain, not yet expired or settled. */
  private async _load(): Promise<{ bytes: number; contracts: number; height: number }> {
    const height = this.node.chain.height;
    let bytes = 0;
    let contracts = 0;
    for (const e of await this.registry.listByKey(this.identity.publicKey, 'host')) {
      const state = e.stateAt(height);
      if (state === 'funded' || state === 'active') {
        bytes += e.record.terms.size;
        contracts++;
      }
    }
    return { bytes, contracts, height };
  }

  // ---- P2P ----

  /** A ccpropose addressed to another host: the renter sent it to every peer; not this node's business. */
  private _notForUs(cmd: string, payload: Buffer): boolean {
    if (cmd !== types.PROPOSE) return false;
    let packet: Packet;
    try {
      packet = decode(cmd, payload);
    } catch {
      return false; // dispatch decodes it again and scores it
    }
    return packet instanceof ProposePacket && Buffer.compare(packet.terms.hostKey, this.identity.publicKey) !== 0;
  }

  async onMessage(peer: NodePeer, cmd: string, payload: Buffer): Promise<void> {
    if (this._notForUs(cmd, payload)) return;
    let d;
    try {
      d = await dispatch(this.pool, this.negotiator, String(peer.id), cmd, payload, unixNow(), this.fulfilment, this.node.groupOf(peer));
    } catch (err) {
      if (isProtocolError(err)) throw new MisbehaviorError(`${err.reason}: ${err.message}`, err.score);
      throw err;
    }
    for (const p of d.reply) this.node.send(peer, p.cmd, p.encode());
    if (d.announce.length > 0) this.node.broadcast(types.INV, new InvPacket(d.announce).encode(), peer);
    await this.negotiations.delivered(peer, d);
    if (d.fault) throw new MisbehaviorError(`${d.fault.reason}: ${d.fault.message}`, d.fault.score);
  }

  // ---- offers ----

  createOffer(req: OfferRequest): Promise<OfferInfo> {
    return this.offers.createOffer(req);
  }

  withdrawOffer(): Promise<{ withdrawn: boolean; hash: string }> {
    return this.offers.withdrawOffer();
  }

  setHost(settings: Partial<HostSettings>): Promise<HostSettings> {
    return this.offers.setHost(settings);
  }

  getHost(): HostSettings {
    return this.offers.getHost();
  }

  listOffers(q?: { maxPrice?: number; minReputation?: number; sort?: string }): Promise<OfferInfo[]> {
    return this.offers.listOffers(q);
  }

  // ---- negotiation ----

  negotiate(req: NegotiateRequest): Promise<NegotiateResult> {
    return this.negotiations.negotiate(req);
  }

  pending(): Promise<PendingInfo[]> {
    return this.negotiations.pending();
  }

  approve(id: string): NegotiationInfo {
    return this.negotiations.approve(id);
  }

  refuse(id: string, reason?: RefuseReasonValue): NegotiationInfo {
    return this.negotiations.refuse(id, reason);
  }

  // ---- registry ----

  private _role(e: ContractEntry): 'renter' | 'host' {
    return Buffer.from(this.identity.publicKey).equals(e.record.terms.hostKey) ? 'host' : 'renter';
  }

  async contracts(role: 'renter' | 'host' | 'any' = 'any'): Promise<{ contracts: ContractListItem[]; negotiating: NegotiationInfo[] }> {
    await this.synced();
    const tip = this.registry.getTip()?.height ?? 0;
    const entries = await this.registry.listByKey(this.identity.publicKey, role);
    const onChain = new Set(entries.map((e) => e.record.id().toString('hex')));
    const negotiating = this.negotiator.list()
      .filter((n) => n.state !== 'refused' && !onChain.has(n.contractId().toString('hex')) && (role === 'any' || n.role === role))
      .map((n) => n.toJSON());
    const contracts = await Promise.all(entries.map(async (e) => ({ ...e.toInfo(tip), role: this._role(e), fulfilment: await this.fulfilment.info(e, tip) })));
    return { contracts, negotiating };
  }

  async contract(id: string): Promise<ContractDetail> {
    const key = hexParam(id, 32, 'contract id');
    await this.synced();
    const e = await this.registry.getContract(key);
    if (!e) throw negotiatorError('ENOTFOUND', 'no such contract on chain');
    const ratings = (await this.registry.ratingsFor(key)).map((r) => r.toJSON());
    const tip = this.registry.getTip()?.height ?? 0;
    return { ...e.toInfo(tip), ratings, fulfilment: await this.fulfilment.info(e, tip), tipHeight: tip };
  }

  /** The whole registry, for comparing nodes: tip, every contract and rating. */
  async dump(): Promise<{ tip: { height: number; hash: string } | null; contracts: ContractInfo[]; ratings: RatingInfo[] }> {
    await this.synced();
    const tip = this.registry.getTip();
    const h = tip?.height ?? 0;
    return {
      tip: tip ? { height: tip.height, hash: Buffer.from(tip.hash).reverse().toString('hex') } : null,
      contracts: (await this.registry.allContracts()).map((e) => e.toInfo(h)),
      ratings: (await this.registry.allRatings()).map((r) => r.toJSON()),
    };
  }

  async reputation(keyHex: string): Promise<Reputation & { key: string; ratings: RatingInfo[] }> {
    const key = hexParam(keyHex, 33, 'key');
    await this.synced();
    const rep = await reputationFromRegistry(this.registry, key);
    return { key: key.toString('hex'), ...rep, ratings: (await this.registry.ratingsOf(key)).map((r) => r.toJSON()) };
  }

  // ---- chain ----

  rate(id: string, score: number, comment?: string): Promise<RatingInfo & { state: 'broadcast' }> {
    return this.chainActions.rate(id, score, comment);
  }

  putRecord(data: Buffer): Promise<string> {
    return this.chainActions.putRecord(data);
  }

  settle(id: string, fee?: number): Promise<{ txid: string; kind: EscrowKind; value: number }> {
    return this.chainActions.settle(id, fee);
  }

  // ---- fulfilment ----

  setExpectedSectors(id: string, ids: unknown): Promise<{ contractId: string; sectors: number }> {
    return this.fulfilment.setExpectedSectors(id, ids);
  }

  /** The latest commitment revision of a contract and, on the renter, the sectors it commits to (null when none): what `store check` verifies hosts against. */
  async commitment(id: string): Promise<CommitmentState | null> {
    return this.fulfilment.store.commitment(hexParam(id, 32, 'contract id'));
  }

  countersign(id: string, revisionHex: unknown): Promise<{ revision: string }> {
    return this.fulfilment.countersign(id, revisionHex);
  }

  setAutomatic(automatic: unknown): Promise<{ automatic: boolean }> {
    return this.fulfilment.setAutomatic(automatic);
  }
}
