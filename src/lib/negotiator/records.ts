/**
 * On-chain records: what the chain itself carries about contracts, their
 * outcomes and ratings, each in one OP_RETURN output of at most 1024 bytes (CloudCoin's
 * relay policy, src/lib/chain/policy.ts).
 *
 * Every record opens with the magic "CLDC", a record type and a version, so
 * the indexer can skip other OP_RETURN data cheaply and future versions can
 * be told apart. docs/protocol.md has the byte layouts.
 */
import { PUBKEY_SIZE, SIG_SIZE, sign, verify } from '../crypto/sig.js';
import { malformed } from '../net/errors.js';
import { VERSION } from '../net/packet.js';
import { SignedMessage } from '../net/signed.js';
import { TERMS_SIZE, contractIdOf, encodeTerms, readTerms, writeTerms, type Terms } from '../net/terms.js';
import { Reader, Writer } from '../net/wire.js';

export const MAGIC = Buffer.from('CLDC', 'ascii');
export const RecordType = { CONTRACT: 1, RATING: 2, OUTCOME: 3 } as const;

/** The domain both parties sign the terms under (ccaccept/ccsign carry these signatures). */
export const CONTRACT_DOMAIN = 'cloudcoin/contract';
export const RATING_DOMAIN = 'cloudcoin/rating';

export const CONTRACT_RECORD_SIZE = 4 + 1 + 1 + TERMS_SIZE + SIG_SIZE * 2;
export const MAX_COMMENT_SIZE = 140;
const RATING_FIXED_SIZE = 4 + 1 + 1 + 32 + PUBKEY_SIZE + 1 + 1 + SIG_SIZE;
export const MAX_RATING_RECORD_SIZE = RATING_FIXED_SIZE + MAX_COMMENT_SIZE;

function _readPrefix(r: Reader, type: number, what: string): void {
  const magic = r.bytes(4, 'magic');
  if (!magic.equals(MAGIC)) throw malformed(`${what}: bad magic`);
  const t = r.u8('record type');
  if (t !== type) throw malformed(`${what}: record type ${t}, expected ${type}`);
  const version = r.u8('version');
  if (version !== VERSION) throw malformed(`${what}: unknown version ${version}`);
}

/** Sign terms as one party of the contract. */
export function signTerms(terms: Terms, secretKey: Uint8Array): Uint8Array {
  return sign(CONTRACT_DOMAIN, encodeTerms(terms), secretKey);
}

export function verifyTermsSig(terms: Terms, signature: Uint8Array, publicKey: Uint8Array): boolean {
  return verify(CONTRACT_DOMAIN, encodeTerms(terms), signature, publicKey);
}

/** The record of a contract: the terms and both parties' signatures of them. */
export class ContractRecord {
  terms: Terms;
  renterSig: Uint8Array;
  hostSig: Uint8Array;

  constructor(terms: Terms, renterSig: Uint8Array, hostSig: Uint8Array) {
    this.terms = terms;
    this.renterSig = renterSig;
    this.hostSig = hostSig;
  }

  /** sha256 of the encoded terms; the same id the negotiation used. */
  id(): Buffer {
    return contractIdOf(this.terms);
  }

  /** Both signatures verify under the terms' own keys. */
  verify(): boolean {
    return verifyTermsSig(this.terms, this.renterSig, this.terms.renterKey)
      && verifyTermsSig(this.terms, this.hostSig, this.terms.hostKey);
  }

  getSize(): number {
    return CONTRACT_RECORD_SIZE;
  }

  encode(): Buffer {
    const w = new Writer(CONTRACT_RECORD_SIZE).bytes(MAGIC).u8(RecordType.CONTRACT).u8(VERSION);
    return writeTerms(w, this.terms).bytes(this.renterSig).bytes(this.hostSig).render();
  }

  static decode(data: Uint8Array): ContractRecord {
    const r = new Reader(data);
    _readPrefix(r, RecordType.CONTRACT, 'contract record');
    const rec = new ContractRecord(readTerms(r), r.bytes(SIG_SIZE, 'renter sig'), r.bytes(SIG_SIZE, 'host sig'));
    r.end('contract record');
    return rec;
  }
}

export interface RatingFields {
  contractId: Uint8Array;
  /** A party of the contract: its renter or host key. */
  raterKey: Uint8Array;
  /** 1 (worst) to 5 (best). */
  score: number;
  /** At most 140 bytes of UTF-8, no control characters. */
  comment: string;
}

// Control characters would let a comment rewrite a terminal line when shown.
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;

// ignoreBOM keeps a leading U+FEFF, so decode(encode(x)) is x for every string.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A party's rating of a contract, signed with its contract key. */
export class RatingRecord extends SignedMessage implements RatingFields {
  contractId: Uint8Array;
  raterKey: Uint8Array;
  score: number;
  comment: string;

  constructor(fields: RatingFields) {
    super();
    this.contractId = fields.contractId;
    this.raterKey = fields.raterKey;
    this.score = fields.score;
    this.comment = fields.comment;
  }

  /** Stateless sanity; throws a `malformed` ProtocolError. */
  check(): void {
    if (this.contractId.length !== 32) throw malformed('rating: contract id must be 32 bytes');
    if (this.raterKey.length !== PUBKEY_SIZE) throw malformed('rating: rater key must be 33 bytes');
    if (!Number.isInteger(this.score) || this.score < 1 || this.score > 5) throw malformed(`rating: score must be 1..5, got ${this.score}`);
    if (Buffer.byteLength(this.comment, 'utf8') > MAX_COMMENT_SIZE) throw malformed(`rating: comment over ${MAX_COMMENT_SIZE} bytes`);
    if (CONTROL_RE.test(this.comment)) throw malformed('rating: comment has control characters');
  }

  getSize(): number {
    return RATING_FIXED_SIZE + Buffer.byteLength(this.comment, 'utf8');
  }

  signedBytes(): Buffer {
    this.check();
    return new Writer(this.getSize() - SIG_SIZE)
      .bytes(MAGIC)
      .u8(RecordType.RATING)
      .u8(VERSION)
      .bytes(this.contractId)
      .bytes(this.raterKey)
      .u8(this.score)
      .bytes8(Buffer.from(this.comment, 'utf8'))
      .render();
  }

  protected signingDomain(): string {
    return RATING_DOMAIN;
  }

  /** The rater's own key signed it; whether the rater may rate is the registry's check. */
  verify(): boolean {
    return this.verifyBy(this.raterKey);
  }

  static decode(data: Uint8Array): RatingRecord {
    const r = new Reader(data);
    _readPrefix(r, RecordType.RATING, 'rating record');
    const rating = new RatingRecord({
      contractId: r.bytes(32, 'contract id'),
      raterKey: r.bytes(PUBKEY_SIZE, 'rater key'),
      score: r.u8('score'),
      comment: '',
    });
    const comment = r.bytes8(MAX_COMMENT_SIZE, 'comment');
    try {
      rating.comment = UTF8.decode(comment);
    } catch {
      throw malformed('rating: comment is not valid UTF-8');
    }
    rating.signature = r.bytes(SIG_SIZE, 'signature');
    r.end('rating record');
    rating.check();
    return rating;
  }
}

/** Which escrow output a settlement spends: PAY the payment, SPLIT the collateral. */
export const OutcomeKind = { PAY: 1, SPLIT: 2 } as const;
export type OutcomeKindValue = (typeof OutcomeKind)[keyof typeof OutcomeKind];

export const OUTCOME_RECORD_SIZE = 4 + 1 + 1 + 32 + 1 + 4 + 2 + 2 + 2;

export interface OutcomeFields {
  contractId: Uint8Array;
  kind: OutcomeKindValue;
  /** The payment revision's sequence number the settlement was signed at. */
  seq: number;
  /** Proof windows of the contract. */
  windows: number;
  proven: number;
  missed: number;
}

/**
 * What a settlement transaction says the contract came to: output 0 of a
 * PAY or SPLIT spend. Unsigned: the 2-of-2 escrow signatures over the whole
 * transaction are what bind both parties to it.
 */
export class OutcomeRecord implements OutcomeFields {
  contractId: Uint8Array;
  kind: OutcomeKindValue;
  seq: number;
  windows: number;
  proven: number;
  missed: number;

  constructor(fields: OutcomeFields) {
    this.contractId = fields.contractId;
    this.kind = fields.kind;
    this.seq = fields.seq;
    this.windows = fields.windows;
    this.proven = fields.proven;
    this.missed = fields.missed;
  }

  /** Stateless sanity; throws a `malformed` ProtocolError. */
  check(): void {
    const uint = (n: number, max: number) => Number.isInteger(n) && n >= 0 && n <= max;
    if (!(this.contractId instanceof Uint8Array) || this.contractId.length !== 32) throw malformed('outcome: contract id must be 32 bytes');
    if (this.kind !== OutcomeKind.PAY && this.kind !== OutcomeKind.SPLIT) throw malformed(`outcome: unknown kind ${this.kind}`);
    if (!uint(this.seq, 0xffffffff)) throw malformed(`outcome: seq must be a u32, got ${this.seq}`);
    if (!uint(this.windows, 0xffff) || this.windows < 1) throw malformed(`outcome: windows must be 1..65535, got ${this.windows}`);
    if (!uint(this.proven, 0xffff) || !uint(this.missed, 0xffff)) throw malformed('outcome: proven and missed must be u16');
    if (this.proven + this.missed > this.windows) throw malformed(`outcome: ${this.proven} proven + ${this.missed} missed exceed ${this.windows} windows`);
  }

  getSize(): number {
    return OUTCOME_RECORD_SIZE;
  }

  encode(): Buffer {
    this.check();
    return new Writer(OUTCOME_RECORD_SIZE)
      .bytes(MAGIC).u8(RecordType.OUTCOME).u8(VERSION)
      .bytes(this.contractId).u8(this.kind).u32(this.seq)
      .u16(this.windows).u16(this.proven).u16(this.missed)
      .render();
  }

  static decode(data: Uint8Array): OutcomeRecord {
    const r = new Reader(data);
    _readPrefix(r, RecordType.OUTCOME, 'outcome record');
    const rec = new OutcomeRecord({
      contractId: r.bytes(32, 'contract id'),
      kind: r.u8('kind') as OutcomeKindValue,
      seq: r.u32('seq'),
      windows: r.u16('windows'),
      proven: r.u16('proven'),
      missed: r.u16('missed'),
    });
    r.end('outcome record');
    rec.check();
    return rec;
  }
}

export type AnyRecord = ContractRecord | RatingRecord | OutcomeRecord;

/** Reads any CloudCoin record from OP_RETURN data; null if the data is not ours (no magic). */
export function decodeRecord(data: Uint8Array): AnyRecord | null {
  if (data.length < 6 || !MAGIC.equals(Buffer.from(data.subarray(0, 4)))) return null;
  switch (data[4]) {
    case RecordType.CONTRACT:
      return ContractRecord.decode(data);
    case RecordType.RATING:
      return RatingRecord.decode(data);
    case RecordType.OUTCOME:
      return OutcomeRecord.decode(data);
    default:
      throw malformed(`unknown record type ${data[4]}`);
  }
}
