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
import { FundPacket } from '../net/fund.js';
import type { FundingPart } from '../net/funding.js';
import type { OfferPacket } from '../net/offer.js';
import type { NegotiationPacket } from '../net/packet.js';
import { ProposePacket } from '../net/propose.js';
import { RefuseReason, type RefuseReasonValue } from '../net/refuse.js';
import type { BMTX } from '../chain/primitives.js';
import { escrowValue, feeShares } from './escrow.js';
import { DEFAULT_HOLD, HostHolds, type UnspentCheck } from './holds.js';
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
  /**
   * Most negotiations open at once (host side), and per address group
   * (src/lib/net/netgroup.ts) of those not yet funded: proposes beyond are
   * refused unread.
   */
  maxOpen?: number;
  maxOpenPerGroup?: number;
  /** Seconds an unfunded reservation lasts (holds.ts). */
  holdSeconds?: number;
  /** Host: checks the renter's coins of a ccfund against the UTXO set; without it they go unchecked. */
  unspent?: UnspentCheck;
}

export interface Outcome {
  negotiation: Negotiation;
  /** Packets to send to the other party, in order. */
  send: NegotiationPacket[];
  /** Renter: the complete, signed funding transaction to broadcast. */
  tx?: BMTX;
  /** Our own wallet failed; the negotiation was refused (ccrefuse in `send`). */
  error?: Error;
  /** The peer's fault, found after the negotiation was refused (ccrefuse in `send`): its ban score. */
  fault?: ProtocolError;
}

export class Negotiator {
  private readonly identity: KeyPair;
  private readonly wallet: FundingWallet;
  private readonly offers: OfferPool;
  private readonly host: HostOptions | null;
  private readonly fundingFee: number;
  private readonly ttl: number;
  private readonly maxOpen: number;
  private readonly maxOpenPerGroup: number;
  private readonly holds: HostHolds;
  /** nid hex → the share our wallet handed out for it, to release if it never funds. */
  private readonly shares = new Map<string, FundingPart>();
  /** nid hex → the address group that opened it (host side), for the per-group limit. */
  private readonly openedBy = new Map<string, string>();
  private readonly byNid = new Map<string, Negotiation>();
  /** Host negotiations forgotten at the end of their hold, nid hex → their propose's expiry: a replay is still recognised. */
  private readonly gone = new Map<string, number>();
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
    this.maxOpenPerGroup = options.maxOpenPerGroup ?? 16;
    this.holds = new HostHolds(options.holdSeconds ?? DEFAULT_HOLD, options.unspent ?? null);
    if (!Number.isInteger(this.ttl) || this.ttl < 1 || this.ttl > MAX_TTL) throw new RangeError(`ttl must be 1..${MAX_TTL} seconds, got ${this.ttl}`);
    if (!Number.isSafeInteger(this.fundingFee) || this.fundingFee < 0) throw new RangeError(`fundingFee must be a non-negative integer, got ${this.fundingFee}`);
    for (const [name, v] of Object.entries({ maxOpen: this.maxOpen, maxOpenPerGroup: this.maxOpenPerGroup })) {
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
    const send = [n.accept(now)];
    this.holds.start(n.nid.toString('hex'), now);
    return { negotiation: n, send };
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

  /**
   * The host's load: on chain plus what its negotiations hold (holds.ts). A
   * cosigned one counts until its funding is out and then until it is
   * forgotten, so between broadcast and the registry seeing the block the
   * room is counted twice rather than not at all.
   */
  private async _load(now: number): Promise<Load> {
    const load = await this.host!.load();
    const mine = this.list().filter((n) => n.role === 'host');
    const held = await Promise.all(mine.map((n) => this.holds.holds(n, now)));
    mine.forEach((n, i) => {
      if (!held[i]) return;
      load.bytes += n.terms.size;
      load.contracts += 1;
    });
    return load;
  }

  /** What the host's policy would answer to a propose now (shown for pending ones in manual mode). */
  async advise(nid: Uint8Array, now: number): Promise<Decision> {
    if (!this.host) throw new CloudCoinError('not-host', 'this negotiator does not host');
    const n = this._pending(nid);
    const offer = this.offers.get(n.offerHash);
    const ours = offer && Buffer.compare(offer.hostKey, this.identity.publicKey) === 0 && offer.expiry > now ? offer : null;
    return this.host.policy.decide(n.terms, ours, await this._load(now));
  }

  /**
   * Handles one negotiation packet from a peer of address group `group`
   * (src/lib/net/netgroup.ts); throws ProtocolError (ban score) on a bad one.
   */
  async handle(packet: NegotiationPacket, now: number, group = ''): Promise<Outcome> {
    if (packet instanceof ProposePacket) return this._propose(packet, now, group);
    const n = this.get(packet.nid);
    if (!n && this.gone.has(Buffer.from(packet.nid).toString('hex'))) {
      throw new ProtocolError('lapsed', `${packet.cmd}: the negotiation's hold ended unfunded`, BanScore.none);
    }
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
    if (n.role === 'host' && n.state === 'funding' && packet instanceof FundPacket) await this._cosign(n, packet, now, out);
    if (n.role === 'renter' && n.state === 'cosigned') {
      await this._walletStep(n, now, out, async () => {
        out.tx = await n.complete(this.wallet.sign);
      });
    }
    if (n.state === 'refused') await this._release(n.nid.toString('hex'));
    return out;
  }

  /**
   * Host, on a ccfund: refuses it if the hold lapsed or the fee is over the
   * maximum; else checks the renter's coins before the wallet reserves or
   * signs anything (a made-up coin is the peer's fault), then cosigns.
   */
  private async _cosign(n: Negotiation, fund: FundPacket, now: number, out: Outcome): Promise<void> {
    const hex = n.nid.toString('hex');
    if (!this.holds.running(hex, now) || n.fundingFee > this.host!.policy.limits.maxFee) {
      out.send.push(n.refuse(RefuseReason.funding, now));
      return;
    }
    const bad = await this.holds.claim(hex, fund.part.coins);
    if (n.state !== 'funding') return; // the renter refused meanwhile
    if (bad) {
      out.send.push(n.refuse(RefuseReason.funding, now));
      out.fault = new ProtocolError('bad-funding', `ccfund: ${bad}`, BanScore.splice);
      return;
    }
    await this._walletStep(n, now, out, async () => {
      const share = await this.wallet.share(escrowValue(n.terms, 'collateral') + feeShares(n.fundingFee).host);
      this.shares.set(hex, share);
      out.send.push(await n.fundSig(share, this.wallet.sign, now));
      this.holds.start(hex, now);
    });
  }

  /** Gives a share's coins back to the wallet (harmless if they were spent after all). */
  private async _release(hex: string): Promise<void> {
    this.holds.forget(hex);
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
      // The other side refused while the wallet worked, so the step found the negotiation
      // closed: there is nothing to refuse, and handle() releases what the step took.
      if (n.closed) return;
      out.error = err instanceof Error ? err : new Error(String(err));
      out.send.push(n.refuse(RefuseReason.funding, now));
    }
  }

  /** A negotiation that holds a place in its group's count: a propose not answered yet, or an answer the renter has not funded while its hold runs. */
  private _unfunded(n: Negotiation, now: number): boolean {
    if (n.state === 'proposed') return now <= n.deadline;
    return n.state !== 'refused' && n.state !== 'funded' && this.holds.running(n.nid.toString('hex'), now);
  }

  private async _propose(packet: ProposePacket, now: number, group: string): Promise<Outcome> {
    if (!this.host) throw new ProtocolError('not-host', 'ccpropose: this node does not host', BanScore.none);
    if (this.get(packet.nid) || this.gone.has(Buffer.from(packet.nid).toString('hex'))) {
      throw new ProtocolError('replay', 'ccpropose: negotiation already open', BanScore.replay);
    }
    // Limits first: every propose costs a signature check and holds memory until it expires.
    if (this.byNid.size >= this.maxOpen) throw new ProtocolError('busy', 'ccpropose: too many open negotiations', BanScore.none);
    let mine = 0;
    for (const [hex, g] of this.openedBy) if (g === group && this._unfunded(this.byNid.get(hex)!, now)) mine++;
    if (mine >= this.maxOpenPerGroup) throw new ProtocolError('flood', `ccpropose: address group ${group} has ${mine} unfunded negotiations`, BanScore.flood);
    const n = Negotiation.receive(this.identity.secretKey, packet, now, this.ttl);
    const hex = n.nid.toString('hex');
    this.byNid.set(hex, n);
    this.openedBy.set(hex, group);
    if (this.host.mode === 'manual') return { negotiation: n, send: [] };
    const d = await this.advise(n.nid, now);
    if (n.state !== 'proposed') return { negotiation: n, send: [] }; // the renter refused while the load was read
    const send = d.action === 'accept' ? n.accept(now) : d.action === 'counter' ? n.counter(d.terms, now) : n.refuse(d.reason, now);
    if (d.action !== 'refuse') this.holds.start(hex, now);
    return { negotiation: n, send: [send] };
  }

  /**
   * Forgets negotiations past their deadline (a funded one lives on in the
   * registry) and releases the coins they held: if the funding did confirm
   * they are spent anyway, and if the other side still broadcasts it after
   * our wallet reused them, that funding simply fails. One is kept at least
   * until its ccpropose expires, so a replay of that propose is still
   * recognised; a host's refused or unfunded one whose hold ended leaves
   * only its nid for that, so proposes that are never funded cannot keep the
   * host `busy` for longer than their hold. Returns how many were dropped.
   */
  async expire(now: number): Promise<number> {
    await this._lapse(now);
    for (const [hex, until] of [...this.gone]) if (now > until) this.gone.delete(hex);
    let n = 0;
    for (const [hex, neg] of [...this.byNid]) {
      const idle = neg.role === 'host' && neg.state !== 'funded' && !this._unfunded(neg, now);
      if (idle || now > Math.max(neg.deadline, neg.openedUntil)) {
        if (now <= neg.openedUntil) this.gone.set(hex, neg.openedUntil);
        this.byNid.delete(hex);
        this.asked.delete(hex);
        this.openedBy.delete(hex);
        await this._release(hex);
        n++;
      }
    }
    return n;
  }

  /**
   * Host: gives back the coins of cosigned negotiations whose hold is over
   * and whose funding never went out (holds.ts). If the renter broadcasts
   * later after all and our wallet reused the coins, that funding fails.
   */
  private async _lapse(now: number): Promise<void> {
    for (const [hex, n] of [...this.byNid]) {
      if (n.role !== 'host' || n.state !== 'funded' || !this.shares.has(hex) || this.holds.running(hex, now)) continue;
      if (!(await this.holds.neverBroadcast(hex))) continue;
      await this._release(hex);
      this.holds.lapse(hex);
    }
  }
}
