/**
 * The Negotiator: every negotiation of one identity, the automatic steps
 * between them, and the host's manual mode. This is the object the node
 * extension drives: it hands in each decoded negotiation packet with
 * `handle`, sends back `send` to the same peer, broadcasts `tx` when one
 * comes out, and turns a thrown ProtocolError into the peer's ban score
 * (bcoin's `peer.increaseBan(score)`; the extension host's MisbehaviorError).
 *
 * Automatic steps: the host answers a propose by its HostPolicy (auto mode)
 * or parks it as pending (manual mode: approve / refuse); the renter answers
 * a counter by its limits; once both signed the renter funds, the host
 * cosigns (after checking the fee), and the renter completes the funding
 * transaction.
 */
import type { KeyPair } from '../crypto/sig.js';
import { CloudCoinError } from '../errors.js';
import { BanScore, ProtocolError } from '../net/errors.js';
import type { FundingPart } from '../net/funding.js';
import type { OfferPacket } from '../net/offer.js';
import type { NegotiationPacket } from '../net/packet.js';
import { ProposePacket } from '../net/propose.js';
import { RefuseReason, type RefuseReasonValue } from '../net/refuse.js';
import type { BMTX } from '../chain/primitives.js';
import { escrowValue, feeShares } from './escrow.js';
import { DEFAULT_TTL, MAX_TTL, Negotiation, type InputSigner, type ProposedTerms } from './negotiation.js';
import type { OfferPool } from './offerpool.js';
import { renterDecision, type Decision, type HostPolicy, type Load, type RenterLimits } from './policy.js';

/** What the Negotiator needs from the wallet. */
export interface FundingWallet {
  /** Coins paying `amount`, with change back to the wallet, locked until released. */
  share(amount: number): Promise<FundingPart>;
  /**
   * Signs exactly the given inputs of `mtx`, which spend this wallet's
   * share, and no other input even if the wallet owns its coin (see
   * InputSigner: bcoin's `wallet.sign(mtx)` signs every input it can).
   */
  sign: InputSigner;
  /** Unlocks a share's coins: called when its negotiation is refused or forgotten. */
  release?(share: FundingPart): void | Promise<void>;
}

export interface HostOptions {
  policy: HostPolicy;
  /** auto: the policy answers at once; manual: proposes wait for approve/refuse. */
  mode: 'auto' | 'manual';
  /** Bytes and contracts already committed on chain (the extension reads the registry), and the chain height. */
  load(): Load | Promise<Load>;
}

export interface NegotiatorOptions {
  identity: KeyPair;
  wallet: FundingWallet;
  /** Where the host looks up the offer a propose names. */
  offers: OfferPool;
  /** Set to answer proposes as a host. */
  host?: HostOptions;
  /** Fee of a funding transaction this renter proposes, in base units. */
  fundingFee?: number;
  /** Lifetime of the messages sent, seconds. */
  ttl?: number;
  /** Most negotiations open at once (host side), and per peer: proposes beyond are refused unread. */
  maxOpen?: number;
  maxOpenPerPeer?: number;
}

export interface Outcome {
  negotiation: Negotiation;
  /** Packets to send to the other party, in order. */
  send: NegotiationPacket[];
  /** Renter: the complete, signed funding transaction to broadcast. */
  tx?: BMTX;
  /** Our own wallet failed; the negotiation was refused (ccrefuse in `send`). */
  error?: Error;
}

/**
 * States in which a host's negotiation holds capacity. A funded one keeps it
 * until the negotiation is forgotten, so between broadcast and the registry
 * seeing the block the room is counted twice rather than not at all.
 */
const RESERVING = new Set(['countered', 'accepted', 'signed', 'funding', 'funded']);

export class Negotiator {
  private readonly identity: KeyPair;
  private readonly wallet: FundingWallet;
  private readonly offers: OfferPool;
  private readonly host: HostOptions | null;
  private readonly fundingFee: number;
  private readonly ttl: number;
  private readonly maxOpen: number;
  private readonly maxOpenPerPeer: number;
  /** nid hex → the share our wallet handed out for it, to release if it never funds. */
  private readonly shares = new Map<string, FundingPart>();
  /** nid hex → the peer that opened it (host side), for the per-peer limit. */
  private readonly openedBy = new Map<string, string>();
  private readonly byNid = new Map<string, Negotiation>();
  /** Renter side: what was asked and the limits for a counter, by nid. */
  private readonly asked = new Map<string, { terms: ProposedTerms; limits: RenterLimits }>();

  constructor(options: NegotiatorOptions) {
    this.identity = options.identity;
    this.wallet = options.wallet;
    this.offers = options.offers;
    this.host = options.host ?? null;
    this.fundingFee = options.fundingFee ?? 2000;
    this.ttl = options.ttl ?? DEFAULT_TTL;
    this.maxOpen = options.maxOpen ?? 1000;
    this.maxOpenPerPeer = options.maxOpenPerPeer ?? 16;
    if (!Number.isInteger(this.ttl) || this.ttl < 1 || this.ttl > MAX_TTL) throw new RangeError(`ttl must be 1..${MAX_TTL} seconds, got ${this.ttl}`);
    if (!Number.isSafeInteger(this.fundingFee) || this.fundingFee < 0) throw new RangeError(`fundingFee must be a non-negative integer, got ${this.fundingFee}`);
    for (const [name, v] of Object.entries({ maxOpen: this.maxOpen, maxOpenPerPeer: this.maxOpenPerPeer })) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
    }
  }

  get(nid: Uint8Array): Negotiation | null {
    return this.byNid.get(Buffer.from(nid).toString('hex')) ?? null;
  }

  list(): Negotiation[] {
    return [...this.byNid.values()];
  }

  /** Host, manual mode: proposes waiting for approve or refuse. */
  pending(): Negotiation[] {
    return this.list().filter((n) => n.role === 'host' && n.state === 'proposed');
  }

  /** Renter: proposes `terms` for `offer`; a counter is accepted only within `limits`. */
  propose(offer: OfferPacket, terms: ProposedTerms, limits: RenterLimits, now: number): Outcome {
    if (offer.withdrawn || offer.expiry <= now) throw new CloudCoinError('offer-expired', 'the offer is withdrawn or expired');
    const { negotiation, packet } = Negotiation.propose(this.identity.secretKey, offer, terms, now, this.ttl);
    const hex = negotiation.nid.toString('hex');
    this.byNid.set(hex, negotiation);
    this.asked.set(hex, { terms, limits });
    return { negotiation, send: [packet] };
  }

  /** Host, manual mode: accepts a pending propose as it stands. */
  approve(nid: Uint8Array, now: number): Outcome {
    const n = this._pending(nid);
    return { negotiation: n, send: [n.accept(now)] };
  }

  /** Host, manual mode: refuses a pending propose (no coins are held yet). */
  refuse(nid: Uint8Array, now: number, reason: RefuseReasonValue = RefuseReason.other): Outcome {
    const n = this._pending(nid);
    return { negotiation: n, send: [n.refuse(reason, now)] };
  }

  private _pending(nid: Uint8Array): Negotiation {
    const n = this.get(nid);
    if (!n || n.role !== 'host' || n.state !== 'proposed') throw new CloudCoinError('not-pending', 'no pending negotiation with that id');
    return n;
  }

  /** The host's load: on chain plus what its open negotiations hold. */
  private async _load(): Promise<Load> {
    const load = await this.host!.load();
    for (const n of this.byNid.values()) {
      if (n.role === 'host' && RESERVING.has(n.state)) {
        load.bytes += n.terms.size;
        load.contracts += 1;
      }
    }
    return load;
  }

  /** What the host's policy would answer to a propose now (shown for pending ones in manual mode). */
  async advise(nid: Uint8Array, now: number): Promise<Decision> {
    if (!this.host) throw new CloudCoinError('not-host', 'this negotiator does not host');
    const n = this._pending(nid);
    const offer = this.offers.get(n.offerHash);
    const ours = offer && Buffer.compare(offer.hostKey, this.identity.publicKey) === 0 && offer.expiry > now ? offer : null;
    return this.host.policy.decide(n.terms, ours, await this._load());
  }

  /**
   * Handles one negotiation packet from `peer` (any stable id of the
   * connection); throws ProtocolError (ban score) on a bad one.
   */
  async handle(packet: NegotiationPacket, now: number, peer = ''): Promise<Outcome> {
    if (packet instanceof ProposePacket) return this._propose(packet, now, peer);
    const n = this.get(packet.nid);
    if (!n) throw new ProtocolError('unknown-negotiation', `${packet.cmd}: no such negotiation`, BanScore.splice);
    const send: NegotiationPacket[] = [];
    const reply = n.receive(packet, now);
    if (reply) send.push(reply);
    const out: Outcome = { negotiation: n, send };

    if (n.role === 'renter' && n.state === 'countered') {
      const asked = this.asked.get(n.nid.toString('hex'))!;
      const d = renterDecision(asked.terms, n.terms, asked.limits);
      send.push(d.action === 'accept' ? n.accept(now) : n.refuse(d.action === 'refuse' ? d.reason : RefuseReason.other, now));
    }
    if (n.role === 'renter' && n.state === 'signed') {
      await this._walletStep(n, now, out, async () => {
        const share = await this.wallet.share(escrowValue(n.terms, 'payment') + feeShares(this.fundingFee).renter);
        this.shares.set(n.nid.toString('hex'), share);
        send.push(n.fund(share, this.fundingFee, now));
      });
    }
    if (n.role === 'host' && n.state === 'funding') {
      if (n.fundingFee > this.host!.policy.limits.maxFee) send.push(n.refuse(RefuseReason.funding, now));
      else {
        await this._walletStep(n, now, out, async () => {
          const share = await this.wallet.share(escrowValue(n.terms, 'collateral') + feeShares(n.fundingFee).host);
          this.shares.set(n.nid.toString('hex'), share);
          send.push(await n.fundSig(share, this.wallet.sign, now));
        });
      }
    }
    if (n.role === 'renter' && n.state === 'cosigned') {
      await this._walletStep(n, now, out, async () => {
        out.tx = await n.complete(this.wallet.sign);
      });
    }
    if (n.state === 'refused') await this._release(n.nid.toString('hex'));
    return out;
  }

  /** Gives a share's coins back to the wallet (harmless if they were spent after all). */
  private async _release(hex: string): Promise<void> {
    const share = this.shares.get(hex);
    if (!share) return;
    this.shares.delete(hex);
    await this.wallet.release?.(share);
  }

  /**
   * Runs a wallet step. A wallet failure (no funds, locked, …) is ours, not
   * the peer's: it ends the negotiation with ccrefuse(funding) and comes
   * back as `error`, so that `handle` throws only for the peer's faults.
   */
  private async _walletStep(n: Negotiation, now: number, out: Outcome, step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (err) {
      out.error = err instanceof Error ? err : new Error(String(err));
      out.send.push(n.refuse(RefuseReason.funding, now));
    }
  }

  private async _propose(packet: ProposePacket, now: number, peer: string): Promise<Outcome> {
    if (!this.host) throw new ProtocolError('not-host', 'ccpropose: this node does not host', BanScore.none);
    if (this.get(packet.nid)) throw new ProtocolError('replay', 'ccpropose: negotiation already open', BanScore.replay);
    // Limits first: every propose costs a signature check and holds memory until it expires.
    if (this.byNid.size >= this.maxOpen) throw new ProtocolError('busy', 'ccpropose: too many open negotiations', BanScore.none);
    let mine = 0;
    for (const p of this.openedBy.values()) if (p === peer) mine++;
    if (mine >= this.maxOpenPerPeer) throw new ProtocolError('flood', `ccpropose: peer has ${mine} open negotiations`, BanScore.flood);
    const n = Negotiation.receive(this.identity.secretKey, packet, now, this.ttl);
    this.byNid.set(n.nid.toString('hex'), n);
    this.openedBy.set(n.nid.toString('hex'), peer);
    if (this.host.mode === 'manual') return { negotiation: n, send: [] };
    const d = await this.advise(n.nid, now);
    const send = d.action === 'accept' ? n.accept(now) : d.action === 'counter' ? n.counter(d.terms, now) : n.refuse(d.reason, now);
    return { negotiation: n, send: [send] };
  }

  /**
   * Forgets negotiations past their deadline (a funded one lives on in the
   * registry) and releases the coins they held: if the funding did confirm
   * they are spent anyway, and if the other side still broadcasts it after
   * our wallet reused them, that funding simply fails. One is kept at least
   * until its ccpropose expires, so a replay of that propose is still
   * recognised. Returns how many were dropped.
   */
  async expire(now: number): Promise<number> {
    let n = 0;
    for (const [hex, neg] of [...this.byNid]) {
      if (now > Math.max(neg.deadline, neg.openedUntil)) {
        this.byNid.delete(hex);
        this.asked.delete(hex);
        this.openedBy.delete(hex);
        await this._release(hex);
        n++;
      }
    }
    return n;
  }
}
