/**
 * One negotiation, from the renter's or the host's side: a state machine
 * that checks every incoming message in context and makes every outgoing one.
 * It knows no transport, clock or wallet: the caller passes `now` (unix
 * seconds), sends what it returns, and lends a signer for funding.
 *
 *   renter                                  host
 *   propose ───────── ccpropose ──────────▶ proposed
 *     ├─◀──────────── ccaccept (hostSig) ── accept ──▶ accepted
 *     │  sign ─────── ccsign (renterSig) ─────────────▶ signed
 *     ├─◀──────────── cccounter ─────────── counter ─▶ countered
 *     │  countered: accept ── ccaccept (renterSig) ───▶ sign ─ ccsign (hostSig) ─▶ signed
 *     └─◀──────────── ccrefuse ──────────── refuse ──▶ refused
 *   signed: fund ──── ccfund (renter share, fee) ────▶ funding
 *   cosigned ◀─────── ccfundsig (host share + witnesses) ── fundSig ─▶ funded
 *   complete: renter signs its inputs ─▶ funded (broadcast the transaction)
 *
 * Every message carries the negotiation id, its position (seq) and the hash
 * of the message before it (prev), and an expiry. Out of order, replayed,
 * spliced, expired or forged messages throw a ProtocolError (docs/protocol.md
 * gives the scores) and leave the negotiation as it was.
 */
import { randomBytes } from 'node:crypto';
import { publicKeyOf } from '../crypto/sig.js';
import { CloudCoinError } from '../errors.js';
import { AcceptPacket } from '../net/accept.js';
import { CounterPacket } from '../net/counter.js';
import { BanScore, ProtocolError } from '../net/errors.js';
import { FundPacket } from '../net/fund.js';
import { FundSigPacket } from '../net/fundsig.js';
import type { FundingCoin, FundingPart } from '../net/funding.js';
import type { OfferPacket } from '../net/offer.js';
import type { Header, NegotiationPacket } from '../net/packet.js';
import { ProposePacket } from '../net/propose.js';
import { RefusePacket, type RefuseReasonValue } from '../net/refuse.js';
import { SignPacket } from '../net/sign.js';
import { checkTerms, contractIdOf, type Terms } from '../net/terms.js';
import type { BMTX } from '../chain/primitives.js';
import { applyWitnesses, assembleFunding, checkShare, coinOf, sharesOverlap, witnessesOf } from './escrow.js';
import { ContractRecord, signTerms, verifyTermsSig } from './records.js';

export type Role = 'renter' | 'host';

export type NegotiationState =
  | 'proposed' // a propose is on the table (host: to decide; renter: waiting)
  | 'countered' // a counter is on the table (renter: to decide; host: waiting)
  | 'accepted' // I accepted and signed; waiting for the other signature
  | 'signed' // both signed the terms; the renter funds
  | 'funding' // renter: ccfund sent; host: ccfund received, to cosign
  | 'cosigned' // renter: the host's share and witnesses are in; to complete
  | 'funded' // the funding transaction is complete (host: its part sent)
  | 'refused';

/** Default lifetime of a message we send, seconds. */
export const DEFAULT_TTL = 600;
/** Furthest ahead a received message may expire, seconds: longer would keep replays alive. */
export const MAX_TTL = 3600;

/** Terms the renter chooses; the keys and negotiation id come from the offer and a fresh nonce. */
export type ProposedTerms = Pick<Terms, 'size' | 'startHeight' | 'duration' | 'price' | 'collateral'>;

/**
 * Signs inputs `inputs` of `mtx` (the wallet's job) — those and no others:
 * the other party chose its own inputs, and could have listed one of this
 * wallet's coins as its own to make this side pay its share.
 */
export type InputSigner = (mtx: BMTX, inputs: number[]) => void | Promise<void>;

function _range(start: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start + i);
}

const ZERO32 = Buffer.alloc(32);

export interface NegotiationInfo {
  nid: string;
  role: Role;
  state: NegotiationState;
  contractId: string;
  renterKey: string;
  hostKey: string;
  size: number;
  startHeight: number;
  duration: number;
  price: number;
  collateral: number;
  deadline: number;
  refusal: RefuseReasonValue | null;
}

function _fail(reason: string, message: string, score: number): never {
  throw new ProtocolError(reason, message, score);
}

/** Script verification of a peer's input; bcoin throws plain errors on some malformed witnesses. */
function _verifies(mtx: BMTX, index: number, coin: FundingCoin): boolean {
  try {
    return mtx.verifyInput(index, coinOf(coin));
  } catch {
    return false;
  }
}

export class Negotiation {
  readonly role: Role;
  readonly nid: Buffer;
  readonly offerHash: Buffer;
  /** The other party's identity key. */
  readonly peerKey: Buffer;
  state: NegotiationState;
  /** The terms on the table (after signing: the contract's terms). */
  terms: Terms;
  /** Expiry of the last message exchanged: the negotiation is dead after it unless a new one arrives. */
  deadline: number;
  refusal: RefuseReasonValue | null = null;
  /** Expiry of the opening ccpropose: until then a replay of it must still find this negotiation. */
  readonly openedUntil: number;
  /** Whose terms are on the table: the side that must accept or counter them is the other one. */
  private termsBy: Role;
  private readonly secretKey: Uint8Array;
  private seq: number;
  private last: Buffer;
  private renterSig: Uint8Array | null = null;
  private hostSig: Uint8Array | null = null;
  private fee = 0;
  private renterShare: FundingPart | null = null;
  private hostShare: FundingPart | null = null;
  private hostWitnesses: Uint8Array[][] = [];
  private readonly ttl: number;

  private constructor(role: Role, secretKey: Uint8Array, first: ProposePacket, ttl: number) {
    this.role = role;
    this.secretKey = secretKey;
    this.nid = Buffer.from(first.nid);
    this.offerHash = Buffer.from(first.offerHash);
    this.terms = first.terms;
    this.termsBy = 'renter';
    this.peerKey = Buffer.from(role === 'renter' ? first.terms.hostKey : first.terms.renterKey);
    this.state = 'proposed';
    this.seq = first.seq;
    this.last = first.hash();
    this.deadline = first.expiry;
    this.openedUntil = first.expiry;
    this.ttl = ttl;
  }

  /** Renter: opens a negotiation for `offer` and returns it with the ccpropose to send. */
  static propose(secretKey: Uint8Array, offer: OfferPacket, proposed: ProposedTerms, now: number, ttl = DEFAULT_TTL): { negotiation: Negotiation; packet: ProposePacket } {
    const nid = randomBytes(32);
    const terms: Terms = { ...proposed, renterKey: publicKeyOf(secretKey), hostKey: offer.hostKey, nid };
    checkTerms(terms);
    const packet = new ProposePacket({ nid, seq: 1, prev: ZERO32, expiry: now + ttl }, offer.hash(), terms).sign(secretKey);
    return { negotiation: new Negotiation('renter', secretKey, packet, ttl), packet };
  }

  /** Host: checks a ccpropose addressed to `secretKey`'s key in context and opens the host side. */
  static receive(secretKey: Uint8Array, packet: ProposePacket, now: number, ttl = DEFAULT_TTL): Negotiation {
    Negotiation._checkExpiry(packet, now);
    if (Buffer.compare(packet.terms.hostKey, publicKeyOf(secretKey)) !== 0) {
      _fail('wrong-host', 'ccpropose: addressed to another host key', BanScore.splice);
    }
    if (!packet.verify(packet.terms.renterKey)) _fail('bad-signature', 'ccpropose: signature does not verify', BanScore.badSignature);
    return new Negotiation('host', secretKey, packet, ttl);
  }

  private static _checkExpiry(packet: NegotiationPacket, now: number): void {
    if (packet.expiry < now) _fail('expired', `${packet.cmd}: expired at ${packet.expiry}`, BanScore.expired);
    if (packet.expiry > now + MAX_TTL) _fail('expired', `${packet.cmd}: expiry more than ${MAX_TTL}s ahead`, BanScore.expired);
  }

  /** The contract id the terms on the table would have. */
  contractId(): Buffer {
    return contractIdOf(this.terms);
  }

  get closed(): boolean {
    return this.state === 'refused' || this.state === 'funded';
  }

  /** The signed contract record, once both have signed. */
  record(): ContractRecord {
    if (!this.renterSig || !this.hostSig) throw new CloudCoinError('negotiation-state', 'both parties have not signed yet');
    return new ContractRecord(this.terms, this.renterSig, this.hostSig);
  }

  /** The funding fee the renter chose (after ccfund). */
  get fundingFee(): number {
    return this.fee;
  }

  private _header(now: number): Header {
    return { nid: this.nid, seq: this.seq + 1, prev: this.last, expiry: now + this.ttl };
  }

  private _sent<T extends NegotiationPacket>(packet: T): T {
    packet.sign(this.secretKey);
    this.seq = packet.seq;
    this.last = packet.hash();
    this.deadline = packet.expiry;
    return packet;
  }

  private _require(states: NegotiationState[], action: string, now: number): void {
    if (!states.includes(this.state)) throw new CloudCoinError('negotiation-state', `cannot ${action} in state ${this.state}`);
    if (now > this.deadline) throw new CloudCoinError('negotiation-expired', `negotiation expired at ${this.deadline}`);
  }

  private _mySig(): Uint8Array {
    return signTerms(this.terms, this.secretKey);
  }

  private _setSig(role: Role, sig: Uint8Array): void {
    if (role === 'renter') this.renterSig = sig;
    else this.hostSig = sig;
  }

  /** Accepts the other side's terms on the table and signs them: ccaccept. */
  accept(now: number): AcceptPacket {
    this._require(['proposed', 'countered'], 'accept', now);
    if (this.termsBy === this.role) throw new CloudCoinError('negotiation-state', 'cannot accept my own terms');
    const sig = this._mySig();
    const packet = this._sent(new AcceptPacket(this._header(now), sig));
    this._setSig(this.role, sig);
    this.state = 'accepted';
    return packet;
  }

  /** Host: answers the renter's terms with others: cccounter. Keys and negotiation id stay. */
  counter(terms: ProposedTerms, now: number): CounterPacket {
    if (this.role !== 'host') throw new CloudCoinError('negotiation-state', 'only the host counters');
    this._require(['proposed'], 'counter', now);
    const next: Terms = { ...this.terms, ...terms };
    checkTerms(next);
    const packet = this._sent(new CounterPacket(this._header(now), next));
    this.terms = next;
    this.termsBy = 'host';
    this.state = 'countered';
    return packet;
  }

  /** Ends the negotiation: ccrefuse. */
  refuse(reason: RefuseReasonValue, now: number): RefusePacket {
    if (this.closed) throw new CloudCoinError('negotiation-state', `cannot refuse in state ${this.state}`);
    const packet = this._sent(new RefusePacket(this._header(now), reason));
    this.state = 'refused';
    this.refusal = reason;
    return packet;
  }

  /** Renter, once both signed: offers its share of the funding transaction: ccfund. */
  fund(share: FundingPart, fee: number, now: number): FundPacket {
    if (this.role !== 'renter') throw new CloudCoinError('negotiation-state', 'only the renter funds first');
    this._require(['signed'], 'fund', now);
    const bad = checkShare(this.terms, 'payment', share, fee);
    if (bad) throw new RangeError(`funding share does not add up: ${bad}`);
    const packet = this._sent(new FundPacket(this._header(now), fee, share));
    this.fee = fee;
    this.renterShare = share;
    this.state = 'funding';
    return packet;
  }

  /** Host, after ccfund: adds its share, signs its inputs with `signer`, and answers ccfundsig. */
  async fundSig(share: FundingPart, signer: InputSigner, now: number): Promise<FundSigPacket> {
    if (this.role !== 'host') throw new CloudCoinError('negotiation-state', 'only the host cosigns funding');
    this._require(['funding'], 'cosign funding', now);
    const bad = checkShare(this.terms, 'collateral', share, this.fee);
    if (bad) throw new RangeError(`funding share does not add up: ${bad}`);
    const mtx = assembleFunding({ record: this.record(), renter: this.renterShare!, host: share, fee: this.fee });
    await signer(mtx, _range(this.renterShare!.coins.length, share.coins.length));
    const witnesses = witnessesOf(mtx, this.renterShare!.coins.length, share.coins.length);
    const packet = this._sent(new FundSigPacket(this._header(now), share, witnesses));
    this.hostShare = share;
    this.state = 'funded';
    return packet;
  }

  /** The funding transaction with the host's witnesses in place (the renter's inputs unsigned). */
  private _cosigned(hostShare: FundingPart, witnesses: Uint8Array[][]): BMTX {
    const mtx = assembleFunding({ record: this.record(), renter: this.renterShare!, host: hostShare, fee: this.fee });
    applyWitnesses(mtx, this.renterShare!.coins.length, witnesses);
    return mtx;
  }

  /**
   * Renter, after ccfundsig: the funding transaction with the host's
   * witnesses and its own (from `signer`), checked by script verification.
   */
  async complete(signer: InputSigner): Promise<BMTX> {
    if (this.state !== 'cosigned') throw new CloudCoinError('negotiation-state', `cannot complete funding in state ${this.state}`);
    const mtx = this._cosigned(this.hostShare!, this.hostWitnesses);
    await signer(mtx, _range(0, this.renterShare!.coins.length));
    // The host's inputs were verified on receipt: a failure here is the renter's own wallet.
    if (!mtx.verify()) throw new CloudCoinError('funding-invalid', 'the funding transaction does not verify after signing');
    this.state = 'funded';
    return mtx;
  }

  /** Which messages each side expects in each state. */
  private _expects(cmd: string): boolean {
    // A host that sent its ccfundsig still hears a refusal: the renter may fail to complete.
    if (cmd === 'ccrefuse') return this.state !== 'refused' && !(this.role === 'renter' && this.state === 'funded');
    const table: Record<Role, Partial<Record<NegotiationState, string[]>>> = {
      renter: { proposed: ['ccaccept', 'cccounter'], accepted: ['ccsign'], funding: ['ccfundsig'] },
      host: { countered: ['ccaccept'], accepted: ['ccsign'], signed: ['ccfund'] },
    };
    return table[this.role][this.state]?.includes(cmd) ?? false;
  }

  /**
   * Checks a message from the other party in context and applies it. Returns
   * the automatic answer, if the protocol has one (a ccsign after a
   * ccaccept), else null. Throws ProtocolError, changing nothing.
   */
  receive(packet: NegotiationPacket, now: number): NegotiationPacket | null {
    if (!this.nid.equals(packet.nid)) _fail('splice', `${packet.cmd}: another negotiation`, BanScore.splice);
    if (packet.seq <= this.seq) _fail('replay', `${packet.cmd}: seq ${packet.seq} already seen`, BanScore.replay);
    Negotiation._checkExpiry(packet, now);
    if (packet.seq !== this.seq + 1 || !this.last.equals(packet.prev)) {
      _fail('splice', `${packet.cmd}: does not follow the last message`, BanScore.splice);
    }
    if (!this._expects(packet.cmd)) _fail('unexpected', `${packet.cmd}: not expected in state ${this.state}`, BanScore.splice);
    if (!packet.verify(this.peerKey)) _fail('bad-signature', `${packet.cmd}: signature does not verify`, BanScore.badSignature);

    const peer: Role = this.role === 'renter' ? 'host' : 'renter';
    let reply: NegotiationPacket | null = null;
    if (packet instanceof CounterPacket) {
      const t = packet.terms;
      const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;
      if (!same(t.renterKey, this.terms.renterKey) || !same(t.hostKey, this.terms.hostKey) || !same(t.nid, this.nid)) {
        _fail('splice', 'cccounter: changes the parties or the negotiation id', BanScore.splice);
      }
    } else if (packet instanceof AcceptPacket || packet instanceof SignPacket) {
      if (!verifyTermsSig(this.terms, packet.contractSig, this.peerKey)) {
        _fail('bad-signature', `${packet.cmd}: contract signature does not verify`, BanScore.badSignature);
      }
    } else if (packet instanceof FundPacket) {
      const bad = checkShare(this.terms, 'payment', packet.part, packet.fee);
      if (bad) _fail('bad-funding', `ccfund: ${bad}`, BanScore.splice);
    } else if (packet instanceof FundSigPacket) {
      const bad = checkShare(this.terms, 'collateral', packet.part, this.fee);
      if (bad) _fail('bad-funding', `ccfundsig: ${bad}`, BanScore.splice);
      if (sharesOverlap(this.renterShare!, packet.part)) _fail('bad-funding', 'ccfundsig: spends one of the renter coins', BanScore.splice);
      const mtx = this._cosigned(packet.part, packet.witnesses);
      const first = this.renterShare!.coins.length;
      packet.part.coins.forEach((c, i) => {
        if (!_verifies(mtx, first + i, c)) _fail('bad-signature', `ccfundsig: witness ${i} does not verify`, BanScore.badSignature);
      });
    }

    // Every check passed: apply.
    this.seq = packet.seq;
    this.last = packet.hash();
    this.deadline = packet.expiry;
    if (packet instanceof CounterPacket) {
      this.terms = packet.terms;
      this.termsBy = 'host';
      this.state = 'countered';
    } else if (packet instanceof AcceptPacket) {
      this._setSig(peer, packet.contractSig);
      const sig = this._mySig();
      reply = this._sent(new SignPacket(this._header(now), sig));
      this._setSig(this.role, sig);
      this.state = 'signed';
    } else if (packet instanceof SignPacket) {
      this._setSig(peer, packet.contractSig);
      this.state = 'signed';
    } else if (packet instanceof RefusePacket) {
      this.state = 'refused';
      this.refusal = packet.reason;
    } else if (packet instanceof FundPacket) {
      this.fee = packet.fee;
      this.renterShare = packet.part;
      this.state = 'funding';
    } else if (packet instanceof FundSigPacket) {
      this.hostShare = packet.part;
      this.hostWitnesses = packet.witnesses;
      this.state = 'cosigned';
    }
    return reply;
  }

  /** A stable summary for the CLI and HTTP API. */
  toJSON(): NegotiationInfo {
    const t = this.terms;
    return {
      nid: this.nid.toString('hex'),
      role: this.role,
      state: this.state,
      contractId: this.contractId().toString('hex'),
      renterKey: Buffer.from(t.renterKey).toString('hex'),
      hostKey: Buffer.from(t.hostKey).toString('hex'),
      size: t.size,
      startHeight: t.startHeight,
      duration: t.duration,
      price: t.price,
      collateral: t.collateral,
      deadline: this.deadline,
      refusal: this.refusal,
    };
  }
}
