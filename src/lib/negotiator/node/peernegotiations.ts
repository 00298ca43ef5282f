/**
 * The NegotiatorService's negotiations between the Negotiator, the peers it
 * talks to and the HTTP callers waiting on it: which peer each negotiation
 * talks to, who refused it, the funding transaction broadcast or our own
 * failure, and the renter's `negotiate` call that waits for the outcome;
 * on the host side, the pending proposes of manual mode.
 *
 * Peers are anonymous connections, not keys: a renter sends its ccpropose to
 * every peer (a node drops, unread and unpunished, a propose addressed to
 * another host key) and then talks to the peer that answered. A host no
 * connected peer is known to be is dialled at once at the addresses its
 * offer gives; a peer that finishes its handshake while a propose has no
 * answer yet gets it too, as bcoin announces its own transactions to new
 * peers: that is how the dialled host gets it, and a host's node that was
 * still connecting.
 */
import type { BTX } from '../../chain/primitives.js';
import type { KeyPair } from '../../crypto/sig.js';
import type { CloudCoinError } from '../../errors.js';
import { canonicalHostPort } from '../../net/address.js';
import type { Packet } from '../../net/packets.js';
import { RefusePacket, RefuseReason, type RefuseReasonValue } from '../../net/refuse.js';
import { collateralOf, paymentOf } from '../../net/terms.js';
import type { Delivery } from '../dispatch.js';
import { negotiatorError } from '../errors.js';
import { MIN_ESCROW_VALUE } from '../escrow.js';
import type { Negotiation, NegotiationInfo } from '../negotiation.js';
import type { Negotiator } from '../negotiator.js';
import type { OfferPool } from '../offerpool.js';
import { hexParam, intParam, unixNow } from '../params.js';
import type { NodeAdapter, NodePeer } from './adapter.js';

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

/**
 * How long a propose waits for an answer before the offer's addresses are
 * dialled, when a peer that may be the host cannot be told from a stranger
 * (an inbound one: NodeAdapter.listenAddressOf). Dialling a host we are
 * connected to gives it the propose twice (a replay, 10 points): long enough
 * that a loaded host answers first.
 */
const DIAL_AFTER_MS = 3000;

export const REFUSE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(RefuseReason).map(([k, v]) => [v, k]));

interface Waiter {
  resolve: () => void;
}

/** Our ccpropose while no peer has answered it and its `negotiate` call waits. */
interface Unanswered {
  negotiation: Negotiation;
  cmd: string;
  payload: Uint8Array;
  /** Peers it went to: each gets it once (a second copy would cost us ban score as a replay). */
  sentTo: WeakSet<NodePeer>;
}

export class PeerNegotiations {
  /** nid hex → the peer the negotiation talks to. */
  private readonly peerOf = new Map<string, NodePeer>();
  /** nid hex → who refused (when we know) and the txid of a funding we broadcast. */
  private readonly refusedBy = new Map<string, 'us' | 'peer'>();
  private readonly txids = new Map<string, string>();
  private readonly errors = new Map<string, CloudCoinError | Error>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly unanswered = new Map<string, Unanswered>();

  constructor(
    private readonly node: NodeAdapter,
    private readonly identity: KeyPair,
    private readonly pool: OfferPool,
    private readonly negotiator: Negotiator,
  ) {}

  /** Ends every wait, so no `negotiate` call outlives the node. */
  close(): void {
    for (const set of this.waiters.values()) for (const w of set) w.resolve();
  }

  /** Drops what we kept of negotiations the Negotiator has forgotten. */
  prune(): void {
    for (const hex of [...this.peerOf.keys()]) {
      if (!this.negotiator.get(Buffer.from(hex, 'hex'))) {
        this.peerOf.delete(hex);
        this.refusedBy.delete(hex);
        this.txids.delete(hex);
        this.errors.delete(hex);
      }
    }
  }

  /** Takes in what a peer's message did to a negotiation, once its replies are sent. */
  async delivered(peer: NodePeer, d: Delivery): Promise<void> {
    if (!d.negotiation) return;
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
    if (!peer) throw negotiatorError('ECONFLICT', 'the peer of this negotiation is gone');
    for (const p of packets) this.node.send(peer, p.cmd, p.encode());
  }

  async negotiate(req: NegotiateRequest): Promise<NegotiateResult> {
    const hash = hexParam(req.offer, 32, 'offer');
    const size = intParam(req.size, 'size', 1);
    const duration = intParam(req.duration, 'duration', 1, 0xffffffff);
    const timeout = intParam(req.timeout ?? 60_000, 'timeout', 100, 3_600_000);
    const now = unixNow();
    const offer = this.pool.get(hash);
    if (!offer || offer.withdrawn || offer.expiry <= now) throw negotiatorError('ENOTFOUND', 'no live offer with that hash');
    if (Buffer.compare(offer.hostKey, this.identity.publicKey) === 0) throw negotiatorError('EUSAGE', 'that is this node\'s own offer');
    const terms = { size, duration, startHeight: this.node.chain.height + 1, price: offer.price, collateral: offer.collateral };
    // The host would refuse with the bare reason 'funding'; say here what is wrong and what to change.
    for (const kind of ['payment', 'collateral'] as const) {
      const value = kind === 'payment' ? paymentOf(terms) : collateralOf(terms);
      if (value < MIN_ESCROW_VALUE) {
        throw negotiatorError('EUSAGE', `too small: ${size} bytes for ${duration} blocks at this offer's ${kind === 'payment' ? 'price' : 'collateral'} make a ${kind} escrow of ${value} base units, and an escrow output needs at least ${MIN_ESCROW_VALUE}: ask for more size or duration`);
      }
    }
    const limits = {
      maxPrice: req.maxPrice === undefined ? offer.price : intParam(req.maxPrice, 'maxPrice'),
      minCollateral: req.minCollateral === undefined ? offer.collateral : intParam(req.minCollateral, 'minCollateral'),
    };
    let out;
    try {
      out = this.negotiator.propose(offer, terms, limits, now);
    } catch (err) {
      throw negotiatorError('EUSAGE', `cannot propose: ${(err as Error).message}`);
    }
    const n = out.negotiation;
    const hex = n.nid.toString('hex');
    const propose: Unanswered = { negotiation: n, cmd: out.send[0].cmd, payload: out.send[0].encode(), sentTo: new WeakSet() };
    const peers = this.node.peers();
    if (peers.length === 0 && offer.addresses.length === 0) throw negotiatorError('ECONFLICT', 'no peers, and the offer gives no address: connect to the host\'s node first');
    for (const peer of peers) this._propose(propose, peer);
    this.unanswered.set(hex, propose);
    const delay = this._dialDelay(offer.addresses, peers);
    const dialing = delay === null ? null : setTimeout(() => this._dialHost(hex, offer.addresses, delay), delay);
    try {
      await this._waitFor(hex, timeout, () => n.closed && (n.state === 'refused' || this.txids.has(hex) || this.errors.has(hex)));
    } finally {
      if (dialing) clearTimeout(dialing);
      this.unanswered.delete(hex);
    }
    return this._result(n);
  }

  /** Sends each propose still unanswered, and not expired, to a peer that has just finished its handshake. */
  peerOpened(peer: NodePeer): void {
    const now = unixNow();
    for (const [hex, u] of this.unanswered) {
      // A second behind its expiry the host may already call it expired, which costs ban score.
      if (this.peerOf.has(hex) || u.negotiation.state !== 'proposed' || now + 1 >= u.negotiation.openedUntil) continue;
      this._propose(u, peer);
    }
  }

  /**
   * When to dial the host at `addresses`: never when a connected peer is
   * it (it has the propose), at once when no peer can be it, and after
   * DIAL_AFTER_MS when a peer whose address we do not know may be it.
   */
  private _dialDelay(addresses: string[], peers: NodePeer[]): number | null {
    if (addresses.length === 0) return null;
    const host = new Set(addresses.map(canonicalHostPort));
    let unknown = false;
    for (const peer of peers) {
      const at = this.node.listenAddressOf(peer);
      if (at === null) unknown = true;
      else if (host.has(at)) return null;
    }
    return unknown ? DIAL_AFTER_MS : 0;
  }

  private _dialHost(hex: string, addresses: string[], delay: number): void {
    if (this.peerOf.has(hex) || !this.unanswered.has(hex)) return;
    const why = delay === 0 ? 'no connected peer is the host' : `no peer answered within ${delay} ms`;
    this.node.logger.info(`negotiator: ${hex.slice(0, 16)}: ${why}: dialling ${addresses.join(', ')}`);
    for (const address of addresses) {
      this.node.dial(address).catch((err: Error) => this.node.logger.warning(`negotiator: cannot dial the host at ${address}: ${err.message}`));
    }
  }

  private _propose(u: Unanswered, peer: NodePeer): void {
    if (u.sentTo.has(peer)) return;
    u.sentTo.add(peer);
    this.node.send(peer, u.cmd, u.payload);
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
    const now = unixNow();
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
    if (!n) throw negotiatorError('ENOTFOUND', 'no pending negotiation with that id');
    return n.nid;
  }

  approve(id: string): NegotiationInfo {
    const nid = this._pendingNid(id);
    const hex = nid.toString('hex');
    if (!this.peerOf.get(hex)) throw negotiatorError('ECONFLICT', 'the renter\'s peer is gone');
    let out;
    try {
      out = this.negotiator.approve(nid, unixNow());
    } catch (err) {
      throw negotiatorError('ECONFLICT', (err as Error).message);
    }
    this._sendTo(hex, out.send);
    return out.negotiation.toJSON();
  }

  refuse(id: string, reason: RefuseReasonValue = RefuseReason.other): NegotiationInfo {
    const nid = this._pendingNid(id);
    const hex = nid.toString('hex');
    let out;
    try {
      out = this.negotiator.refuse(nid, unixNow(), reason);
    } catch (err) {
      throw negotiatorError('ECONFLICT', (err as Error).message);
    }
    this.refusedBy.set(hex, 'us');
    if (this.peerOf.get(hex)) this._sendTo(hex, out.send);
    return out.negotiation.toJSON();
  }
}
