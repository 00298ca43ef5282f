/**
 * The Negotiator running inside a node: the OfferPool, the Negotiator and
 * the contract registry wired to bcoin's pool, chain, mempool and wallet.
 * extension.ts plugs it into the daemon; routes.ts puts its methods on the
 * HTTP API. Everything a peer sends goes through `dispatch` (one entry
 * point); a ProtocolError becomes the peer's ban score.
 *
 * Peers are anonymous connections, not keys: a renter sends its ccpropose to
 * every peer (a node drops, unread and unpunished, a propose addressed to
 * another host key) and then talks to the peer that answered. So a renter
 * must be connected to the host's node (`--peers`).
 */
import type { BcoinFullNode, BcoinPeer } from '../chain/bcoin.js';
import { CloudCoinError, ExitCode } from '../errors.js';
import type { ExtensionContext } from '../ext/context.js';
import { ExtensionHost } from '../ext/host.js';
import { HttpError, MisbehaviorError } from '../ext/types.js';
import type { KeyPair } from '../crypto/sig.js';
import { isProtocolError } from '../net/errors.js';
import { InvPacket } from '../net/inv.js';
import { MAX_HASHES } from '../net/hashlist.js';
import { OfferPacket, type OfferFields } from '../net/offer.js';
import { decode, types } from '../net/packets.js';
import { ProposePacket } from '../net/propose.js';
import { RefusePacket, RefuseReason, type RefuseReasonValue } from '../net/refuse.js';
import { collateralOf, paymentOf } from '../net/terms.js';
import type { Packet } from '../net/packets.js';
import { Script, type BTX } from './bcoin.js';
import { dispatch } from './dispatch.js';
import { ContractEntry, type ContractInfo, type RatingInfo } from './entries.js';
import { MIN_ESCROW_VALUE, escrowValue, refundHeightOf, refundWitness, signEscrowInput, spendEscrow, type EscrowKind } from './escrow.js';
import { ChainIndexer } from './indexer.js';
import type { Negotiation, NegotiationInfo } from './negotiation.js';
import { Negotiator } from './negotiator.js';
import { OfferPool } from './offerpool.js';
import { HostPolicy, type HostLimits } from './policy.js';
import { RatingRecord } from './records.js';
import { Registry } from './registry.js';
import { reputationFromRegistry, type Reputation } from './reputation.js';
import type { RegistryDB } from './undo.js';

/** The host's settings: its HostPolicy limits and whether proposes wait for `approve`. */
export interface HostSettings extends HostLimits {
  mode: 'auto' | 'manual';
}

export const DEFAULT_HOST: HostSettings = { priceFloor: 0, capacity: 0, maxContracts: 100, maxFee: 100_000, mode: 'auto' };

/** What a host offers: the terms of its OfferPacket (src/lib/net/offer.ts). */
export type OfferTerms = Pick<OfferFields, 'price' | 'collateral' | 'minSize' | 'maxSize' | 'minDuration' | 'maxDuration' | 'url'>;

export interface OfferRequest extends OfferTerms {
  /** Seconds the offer stays valid. */
  validity: number;
  /** Host settings to change with this offer. */
  host?: Partial<HostSettings>;
}

export interface OfferInfo extends OfferTerms {
  hash: string;
  hostKey: string;
  sequence: number;
  expiry: number;
  mine: boolean;
  reputation: Reputation;
}

export interface NegotiateRequest {
  offer: string;
  size: number;
  duration: number;
  maxPrice?: number;
  minCollateral?: number;
  /** Milliseconds to wait for funded or refused. */
  timeout?: number;
}

export type NegotiationOutcome = 'funded' | 'refused' | 'timeout';

export interface NegotiateResult {
  outcome: NegotiationOutcome;
  negotiation: NegotiationInfo;
  /** Who ended a refused negotiation, and why. */
  refusedBy: 'host' | 'renter' | null;
  reason: string | null;
  /** Funded: the funding transaction broadcast. */
  txid: string | null;
  /** Our own failure (wallet), with its error code. */
  error: { code: string; message: string } | null;
}

export interface PendingInfo extends NegotiationInfo {
  advice: string;
}

export interface ContractListItem extends ContractInfo {
  role: 'renter' | 'host';
}

export const REFUSE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(RefuseReason).map(([k, v]) => [v, k]));

const EXPIRE_EVERY_MS = 5_000;

function _now(): number {
  return Math.floor(Date.now() / 1000);
}

function _hex(s: unknown, bytes: number, what: string): Buffer {
  if (typeof s !== 'string' || !new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(s)) throw new HttpError(400, `${what} must be ${bytes} bytes of hex`);
  return Buffer.from(s, 'hex');
}

function _int(v: unknown, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max) throw new HttpError(400, `${what} must be an integer from ${min} to ${max}`);
  return n;
}

function _offerInfo(o: OfferPacket, mine: boolean, reputation: Reputation): OfferInfo {
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
    mine,
    reputation,
  };
}

interface Waiter {
  resolve: () => void;
}

export class NegotiatorService {
  readonly identity: KeyPair;
  readonly pool: OfferPool;
  readonly registry: Registry;
  readonly negotiator: Negotiator;
  private readonly indexer: ChainIndexer;
  private host: HostSettings = { ...DEFAULT_HOST };
  private policy = new HostPolicy(this._limits());
  /** nid hex → the peer the negotiation talks to. */
  private readonly peerOf = new Map<string, BcoinPeer>();
  /** nid hex → who refused (when we know) and the txid of a funding we broadcast. */
  private readonly refusedBy = new Map<string, 'us' | 'peer'>();
  private readonly txids = new Map<string, string>();
  private readonly errors = new Map<string, CloudCoinError | Error>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private timer: NodeJS.Timeout | null = null;
  private readonly meta: RegistryDB;

  /** bcoin's FullNode (its chain, pool, mempool and wallet calls are untyped here). */
  private readonly node: any;

  constructor(
    node: BcoinFullNode,
    private readonly ext: ExtensionContext,
    identity: KeyPair,
  ) {
    this.node = node;
    this.identity = identity;
    const db = ext.db() as any;
    const sub = (name: string): RegistryDB => db.sublevel(name, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    this.meta = sub('meta');
    this.pool = new OfferPool({ db: sub('offers') });
    this.registry = new Registry(sub('registry'));
    this.indexer = new ChainIndexer(node.chain as any, this.registry, (m) => node.logger.error(`negotiator: ${m}`));
    const settings = (): { policy: HostPolicy; mode: 'auto' | 'manual' } => ({ policy: this.policy, mode: this.host.mode });
    this.negotiator = new Negotiator({
      identity,
      wallet: {
        share: (amount) => ext.walletFunder().share(amount),
        sign: (mtx, inputs) => ext.walletFunder().sign(mtx, inputs),
        release: (share) => ext.walletFunder().release(share),
      },
      offers: this.pool,
      host: {
        get policy() { return settings().policy; },
        get mode() { return settings().mode; },
        load: () => this._load(),
      },
    });
  }

  private _limits(): HostLimits {
    const { priceFloor, capacity, maxContracts, maxFee } = this.host;
    return { priceFloor, capacity, maxContracts, maxFee };
  }

  async open(): Promise<void> {
    await this.meta.open();
    const saved = await this.meta.get(Buffer.from('host'));
    if (saved) this.host = { ...DEFAULT_HOST, ...JSON.parse(saved.toString('utf8')) };
    this.policy = new HostPolicy(this._limits());
    await this.pool.open(_now());
    await this.registry.open();
    await this.indexer.open();
    this.node.pool.on('peer open', this._onPeerOpen);
    this.node.pool.on('peer close', this._onPeerClose);
    this.timer = setInterval(() => void this._expire(), EXPIRE_EVERY_MS);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.node.pool.removeListener('peer open', this._onPeerOpen);
    this.node.pool.removeListener('peer close', this._onPeerClose);
    for (const set of this.waiters.values()) for (const w of set) w.resolve();
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
      const now = _now();
      await this.pool.expire(now);
      await this.negotiator.expire(now);
      for (const hex of [...this.peerOf.keys()]) {
        if (!this.negotiator.get(Buffer.from(hex, 'hex'))) {
          this.peerOf.delete(hex);
          this.refusedBy.delete(hex);
          this.txids.delete(hex);
          this.errors.delete(hex);
        }
      }
    } catch (err) {
      this.node.logger.error(`negotiator: expiry failed: ${(err as Error).message}`);
    }
  }

  /** A new peer hears of every live offer we hold, as a fresh mempool would. */
  private readonly _onPeerOpen = (peer: BcoinPeer): void => {
    const hashes = this.pool.list(_now()).map((o) => o.hash());
    for (let i = 0; i < hashes.length; i += MAX_HASHES) this.ext.send(peer, types.INV, new InvPacket(hashes.slice(i, i + MAX_HASHES)).encode());
  };

  private readonly _onPeerClose = (peer: BcoinPeer): void => {
    this.pool.removePeer(String((peer as any).id));
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

  async onMessage(peer: BcoinPeer, cmd: string, payload: Buffer): Promise<void> {
    if (this._notForUs(cmd, payload)) return;
    let d;
    try {
      d = await dispatch(this.pool, this.negotiator, String((peer as any).id), cmd, payload, _now());
    } catch (err) {
      if (isProtocolError(err)) throw new MisbehaviorError(`${err.reason}: ${err.message}`, err.score);
      throw err;
    }
    for (const p of d.reply) this.ext.send(peer, p.cmd, p.encode());
    if (d.announce.length > 0) this.ext.broadcast(types.INV, new InvPacket(d.announce).encode(), peer);
    if (d.negotiation) {
      const hex = d.negotiation.nid.toString('hex');
      this.peerOf.set(hex, peer);
      if (d.negotiation.state === 'refused' && !this.refusedBy.has(hex)) {
        this.refusedBy.set(hex, d.reply.some((p) => p instanceof RefusePacket) ? 'us' : 'peer');
      }
      if (d.error) {
        this.errors.set(hex, d.error);
        this.node.logger.warning(`negotiator: ${hex.slice(0, 16)}: ${d.error.message}`);
      }
      if (d.tx) await this._broadcastFunding(hex, d.tx.toTX());
      this._wake(hex);
    }
  }

  private async _broadcastFunding(hex: string, tx: BTX): Promise<void> {
    try {
      await this.node.sendTX(tx);
      this.txids.set(hex, tx.txid());
    } catch (err) {
      this.errors.set(hex, err as Error);
      this.node.logger.error(`negotiator: funding transaction ${tx.txid()} rejected: ${(err as Error).message}`);
    }
  }

  private _wake(hex: string): void {
    for (const w of this.waiters.get(hex) ?? []) w.resolve();
  }

  private _sendTo(hex: string, packets: Packet[]): void {
    const peer = this.peerOf.get(hex);
    if (!peer) throw new HttpError(409, 'the peer of this negotiation is gone');
    for (const p of packets) this.ext.send(peer, p.cmd, p.encode());
  }

  // ---- offers ----

  async createOffer(req: OfferRequest): Promise<OfferInfo> {
    if (req.host) await this.setHost(req.host);
    const now = _now();
    const current = this.pool.offerOf(this.identity.publicKey, now);
    const sequence = Math.max(now, (current?.sequence ?? 0) + 1, this._lastSequence + 1);
    this._lastSequence = sequence;
    let offer: OfferPacket;
    try {
      offer = new OfferPacket({
        flags: 0, hostKey: this.identity.publicKey, sequence, expiry: now + req.validity,
        price: req.price, collateral: req.collateral, minSize: req.minSize, maxSize: req.maxSize,
        minDuration: req.minDuration, maxDuration: req.maxDuration, url: req.url,
      }).sign(this.identity.secretKey);
      offer.check();
    } catch (err) {
      throw new HttpError(400, `invalid offer: ${(err as Error).message}`);
    }
    await this._addOwn(offer, now);
    return _offerInfo(offer, true, await reputationFromRegistry(this.registry, this.identity.publicKey));
  }

  private _lastSequence = 0;

  async withdrawOffer(): Promise<{ withdrawn: boolean; hash: string }> {
    const now = _now();
    const current = this.pool.offerOf(this.identity.publicKey, now);
    if (!current) throw new HttpError(404, 'this node has no live offer');
    const sequence = Math.max(now, current.sequence + 1, this._lastSequence + 1);
    this._lastSequence = sequence;
    const w = OfferPacket.withdrawal(this.identity.publicKey, sequence, current.expiry).sign(this.identity.secretKey);
    await this._addOwn(w, now);
    return { withdrawn: true, hash: w.hash().toString('hex') };
  }

  private async _addOwn(offer: OfferPacket, now: number): Promise<void> {
    try {
      const added = await this.pool.add(offer, now);
      if (added.added) this.ext.broadcast(types.INV, new InvPacket([added.hash]).encode());
    } catch (err) {
      if (isProtocolError(err)) throw new HttpError(400, `offer not accepted: ${err.reason}: ${err.message}`);
      throw err;
    }
  }

  async setHost(settings: Partial<HostSettings>): Promise<HostSettings> {
    const next = { ...this.host, ...Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)) } as HostSettings;
    if (next.mode !== 'auto' && next.mode !== 'manual') throw new HttpError(400, 'mode must be auto or manual');
    let policy: HostPolicy;
    try {
      policy = new HostPolicy({ priceFloor: next.priceFloor, capacity: next.capacity, maxContracts: next.maxContracts, maxFee: next.maxFee });
    } catch (err) {
      throw new HttpError(400, (err as Error).message);
    }
    await this.meta.batch([{ type: 'put', key: Buffer.from('host'), value: Buffer.from(JSON.stringify(next)) }]);
    this.host = next;
    this.policy = policy;
    return { ...next };
  }

  getHost(): HostSettings {
    return { ...this.host };
  }

  async listOffers(q: { maxPrice?: number; minReputation?: number; sort?: string } = {}): Promise<OfferInfo[]> {
    const mine = Buffer.from(this.identity.publicKey);
    const out: OfferInfo[] = [];
    for (const o of this.pool.list(_now())) {
      if (q.maxPrice !== undefined && o.price > q.maxPrice) continue;
      const rep = await reputationFromRegistry(this.registry, o.hostKey);
      if (q.minReputation !== undefined && rep.score < q.minReputation) continue;
      out.push(_offerInfo(o, mine.equals(o.hostKey), rep));
    }
    const sort = q.sort ?? 'price';
    const by: Record<string, (a: OfferInfo, b: OfferInfo) => number> = {
      price: (a, b) => a.price - b.price,
      collateral: (a, b) => b.collateral - a.collateral,
      reputation: (a, b) => b.reputation.score - a.reputation.score,
      expiry: (a, b) => b.expiry - a.expiry,
    };
    if (!by[sort]) throw new HttpError(400, `sort must be one of ${Object.keys(by).join(', ')}`);
    return out.sort((a, b) => by[sort](a, b) || a.hash.localeCompare(b.hash));
  }

  // ---- negotiation ----

  async negotiate(req: NegotiateRequest): Promise<NegotiateResult> {
    const hash = _hex(req.offer, 32, 'offer');
    const size = _int(req.size, 'size', 1);
    const duration = _int(req.duration, 'duration', 1, 0xffffffff);
    const timeout = _int(req.timeout ?? 60_000, 'timeout', 100, 3_600_000);
    const now = _now();
    const offer = this.pool.get(hash);
    if (!offer || offer.withdrawn || offer.expiry <= now) throw new HttpError(404, 'no live offer with that hash');
    if (Buffer.compare(offer.hostKey, this.identity.publicKey) === 0) throw new HttpError(400, 'that is this node\'s own offer');
    const terms = { size, duration, startHeight: this.node.chain.height + 1, price: offer.price, collateral: offer.collateral };
    // The host would refuse with the bare reason 'funding'; say here what is wrong and what to change.
    for (const kind of ['payment', 'collateral'] as const) {
      const value = kind === 'payment' ? paymentOf(terms) : collateralOf(terms);
      if (value < MIN_ESCROW_VALUE) {
        throw new HttpError(400, `too small: ${size} bytes for ${duration} blocks at this offer's ${kind === 'payment' ? 'price' : 'collateral'} make a ${kind} escrow of ${value} base units, and an escrow output needs at least ${MIN_ESCROW_VALUE}: ask for more size or duration`);
      }
    }
    const limits = {
      maxPrice: req.maxPrice === undefined ? offer.price : _int(req.maxPrice, 'maxPrice'),
      minCollateral: req.minCollateral === undefined ? offer.collateral : _int(req.minCollateral, 'minCollateral'),
    };
    let out;
    try {
      out = this.negotiator.propose(offer, terms, limits, now);
    } catch (err) {
      throw new HttpError(400, `cannot propose: ${(err as Error).message}`);
    }
    const n = out.negotiation;
    const hex = n.nid.toString('hex');
    const sent = this.ext.broadcast(out.send[0].cmd, out.send[0].encode());
    if (sent === 0) throw new HttpError(409, 'no peers: connect to the host\'s node first');
    await this._waitFor(hex, timeout, () => n.closed && (n.state === 'refused' || this.txids.has(hex) || this.errors.has(hex)));
    return this._result(n);
  }

  private async _waitFor(hex: string, timeout: number, done: () => boolean): Promise<void> {
    const deadline = Date.now() + timeout;
    while (!done() && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const w: Waiter = { resolve: () => { clearTimeout(timer); set.delete(w); resolve(); } };
        const timer = setTimeout(w.resolve, Math.max(1, deadline - Date.now()));
        const set = this.waiters.get(hex) ?? new Set<Waiter>();
        this.waiters.set(hex, set);
        set.add(w);
      });
    }
    this.waiters.delete(hex);
  }

  private _result(n: Negotiation): NegotiateResult {
    const hex = n.nid.toString('hex');
    const err = this.errors.get(hex) ?? null;
    const by = this.refusedBy.get(hex);
    const txid = this.txids.get(hex) ?? null;
    const refused = n.state === 'refused';
    return {
      outcome: txid ? 'funded' : refused ? 'refused' : 'timeout',
      negotiation: n.toJSON(),
      refusedBy: refused ? ((by === 'us') === (n.role === 'renter') ? 'renter' : 'host') : null,
      reason: refused && n.refusal !== null ? REFUSE_NAMES[n.refusal] : null,
      txid,
      error: err ? { code: (err as CloudCoinError).code ?? 'EFAILURE', message: err.message } : null,
    };
  }

  async pending(): Promise<PendingInfo[]> {
    const now = _now();
    const out: PendingInfo[] = [];
    for (const n of this.negotiator.pending()) {
      if (n.deadline < now) continue;
      const d = await this.negotiator.advise(n.nid, now);
      out.push({ ...n.toJSON(), advice: d.action === 'refuse' ? `refuse (${REFUSE_NAMES[d.reason]})` : d.action });
    }
    return out;
  }

  private _pendingNid(id: string): Buffer {
    const want = id.toLowerCase();
    const n = this.negotiator.pending().find((x) => x.nid.toString('hex') === want || x.contractId().toString('hex') === want);
    if (!n) throw new HttpError(404, 'no pending negotiation with that id');
    return n.nid;
  }

  approve(id: string): NegotiationInfo {
    const nid = this._pendingNid(id);
    const hex = nid.toString('hex');
    if (!this.peerOf.get(hex)) throw new HttpError(409, 'the renter\'s peer is gone');
    let out;
    try {
      out = this.negotiator.approve(nid, _now());
    } catch (err) {
      throw new HttpError(409, (err as Error).message);
    }
    this._sendTo(hex, out.send);
    return out.negotiation.toJSON();
  }

  refuse(id: string, reason: RefuseReasonValue = RefuseReason.other): NegotiationInfo {
    const nid = this._pendingNid(id);
    const hex = nid.toString('hex');
    let out;
    try {
      out = this.negotiator.refuse(nid, _now(), reason);
    } catch (err) {
      throw new HttpError(409, (err as Error).message);
    }
    this.refusedBy.set(hex, 'us');
    if (this.peerOf.get(hex)) this._sendTo(hex, out.send);
    return out.negotiation.toJSON();
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
    return { contracts: entries.map((e) => ({ ...e.toInfo(tip), role: this._role(e) })), negotiating };
  }

  async contract(id: string): Promise<ContractInfo & { ratings: RatingInfo[] }> {
    const key = _hex(id, 32, 'contract id');
    await this.synced();
    const e = await this.registry.getContract(key);
    if (!e) throw new HttpError(404, 'no such contract on chain');
    const ratings = (await this.registry.ratingsFor(key)).map((r) => r.toJSON());
    return { ...e.toInfo(this.registry.getTip()?.height ?? 0), ratings };
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
    const key = _hex(keyHex, 33, 'key');
    await this.synced();
    const rep = await reputationFromRegistry(this.registry, key);
    return { key: key.toString('hex'), ...rep, ratings: (await this.registry.ratingsOf(key)).map((r) => r.toJSON()) };
  }

  private _wallet(): any {
    return this.node.plugins.walletdb.wdb.primary;
  }

  private _passphrase(): string {
    const p = ExtensionHost.of(this.node).walletPassphrase;
    if (!p) throw new HttpError(423, 'the node holds no wallet passphrase: start it with CLOUDCOIN_PASSPHRASE');
    return p;
  }

  /** Puts a rating of contract `id` by this node's key on chain. */
  async rate(id: string, score: number, comment = ''): Promise<RatingInfo & { state: 'broadcast' }> {
    const contractId = _hex(id, 32, 'contract id');
    _int(score, 'score', 1, 5);
    if (typeof comment !== 'string') throw new HttpError(400, 'comment must be a string');
    await this.synced();
    const e = await this.registry.getContract(contractId);
    if (!e) throw new HttpError(404, 'no such contract on chain: only a funded contract can be rated');
    const me = Buffer.from(this.identity.publicKey);
    if (!me.equals(e.record.terms.renterKey) && !me.equals(e.record.terms.hostKey)) throw new HttpError(422, 'this node is not a party of that contract');
    if ((await this.registry.ratingsFor(contractId)).some((r) => me.equals(r.rating.raterKey))) throw new HttpError(409, 'this node already rated that contract');
    let record: RatingRecord;
    try {
      record = new RatingRecord({ contractId, raterKey: me, score, comment }).sign(this.identity.secretKey);
    } catch (err) {
      throw new HttpError(400, `invalid rating: ${(err as Error).message}`);
    }
    const tx = await this.putRecord(record.encode());
    return { contractId: id.toLowerCase(), raterKey: me.toString('hex'), score, comment, txid: tx, height: -1, state: 'broadcast' };
  }

  /** A wallet transaction whose output 0 carries `data` in an OP_RETURN (sort: false keeps it first). */
  async putRecord(data: Buffer): Promise<string> {
    const wallet = this._wallet();
    try {
      const tx = await wallet.send({ outputs: [{ script: Script.fromNulldata(data), value: 0 }], sort: false }, this._passphrase());
      return tx.txid();
    } catch (err) {
      if (err instanceof HttpError) throw err;
      const message = (err as Error).message;
      if (/funds/i.test(message)) throw new HttpError(402, `insufficient funds for the record's fee: ${message}`);
      throw new HttpError(500, message);
    } finally {
      await wallet.lock().catch(() => {});
    }
  }

  /**
   * The unilateral settlement path: after the refund height, this node's own
   * contribution (the renter's payment, the host's collateral) back to its
   * wallet, signed with the identity key alone.
   */
  async settle(id: string, fee = 2000): Promise<{ txid: string; kind: EscrowKind; value: number }> {
    const contractId = _hex(id, 32, 'contract id');
    await this.synced();
    const e = await this.registry.getContract(contractId);
    if (!e) throw new HttpError(404, 'no such contract on chain');
    const kind: EscrowKind = this._role(e) === 'renter' ? 'payment' : 'collateral';
    const me = Buffer.from(this.identity.publicKey);
    if (!me.equals(e.record.terms.renterKey) && !me.equals(e.record.terms.hostKey)) throw new HttpError(422, 'this node is not a party of that contract');
    if ((kind === 'payment' ? e.paymentSpent : e.collateralSpent) !== null) throw new HttpError(409, `the ${kind} escrow is already spent`);
    const terms = e.record.terms;
    const refundHeight = refundHeightOf(terms);
    if (this.node.chain.height < refundHeight) {
      throw new HttpError(409, `the refund path opens at height ${refundHeight} (chain is at ${this.node.chain.height}); before that only a cooperative close spends the escrow`);
    }
    const funding = await this._fundingTx(e);
    const value = escrowValue(terms, kind) - fee;
    if (value < 1000) throw new HttpError(400, 'the escrow output does not cover the fee');
    const address = await this._wallet().receiveAddress();
    const mtx = spendEscrow(funding, terms, [kind], [{ script: (Script as any).fromAddress(address), value }], refundHeight);
    refundWitness(mtx, 0, terms, kind, signEscrowInput(mtx, 0, terms, kind, this.identity.secretKey));
    const tx = mtx.toTX();
    try {
      await this.node.mempool.addTX(tx);
    } catch (err) {
      throw new HttpError(409, `the refund was rejected: ${(err as Error).message}`);
    }
    this.node.pool.broadcast(tx);
    return { txid: tx.txid(), kind, value };
  }

  private async _fundingTx(e: ContractEntry): Promise<BTX> {
    const entry = await this.node.chain.getEntryByHeight(e.height);
    const block = entry && await this.node.chain.getBlock(entry.hash);
    const tx = block?.txs.find((t: BTX) => t.hash().equals(e.txHash));
    if (!tx) throw new CloudCoinError('ENOTFOUND', 'the funding transaction is not in the block store', ExitCode.failure);
    return tx;
  }
}
