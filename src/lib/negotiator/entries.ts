/**
 * The registry's stored values (hsd's `records.js` role): a contract as the
 * chain shows it, and a rating as the chain shows it. Both are derived from
 * blocks alone.
 */
import { Reader, Writer } from '../net/wire.js';
import { collateralOf, endHeightOf, paymentOf } from '../net/terms.js';
import { refundHeightOf } from './escrow.js';
import { CONTRACT_RECORD_SIZE, ContractRecord, MAX_RATING_RECORD_SIZE, RatingRecord } from './records.js';

/**
 * negotiating: being negotiated, not on chain yet (the Negotiator's own state);
 * funded: on chain, before its start height; active: from start to end;
 * expired: past its end with money still in escrow; settled: both escrow outputs spent.
 */
export type ContractState = 'negotiating' | 'funded' | 'active' | 'expired' | 'settled';

export interface Spend {
  /** Spending transaction hash, internal byte order. */
  txHash: Buffer;
  height: number;
}

/** Display form of a transaction hash: bcoin's txid, byte-reversed hex. */
export function txidOf(hash: Uint8Array): string {
  return Buffer.from(hash).reverse().toString('hex');
}

function _writeSpend(w: Writer, s: Spend | null): void {
  w.u8(s ? 1 : 0);
  if (s) w.bytes(s.txHash).u32(s.height);
}

function _readSpend(r: Reader): Spend | null {
  return r.u8() ? { txHash: r.bytes(32), height: r.u32() } : null;
}

export class ContractEntry {
  record: ContractRecord;
  /** Funding transaction hash, internal byte order; its outputs 1 and 2 are the escrow. */
  txHash: Buffer;
  height: number;
  paymentSpent: Spend | null = null;
  collateralSpent: Spend | null = null;

  constructor(record: ContractRecord, txHash: Buffer, height: number) {
    this.record = record;
    this.txHash = txHash;
    this.height = height;
  }

  /** The state at chain height `tip`. */
  stateAt(tip: number): ContractState {
    if (this.paymentSpent && this.collateralSpent) return 'settled';
    const { terms } = this.record;
    if (tip < terms.startHeight) return 'funded';
    if (tip < endHeightOf(terms)) return 'active';
    return 'expired';
  }

  encode(): Buffer {
    const size = CONTRACT_RECORD_SIZE + 32 + 4 + [this.paymentSpent, this.collateralSpent].reduce((n, s) => n + (s ? 37 : 1), 0);
    const w = new Writer(size).bytes(this.record.encode()).bytes(this.txHash).u32(this.height);
    _writeSpend(w, this.paymentSpent);
    _writeSpend(w, this.collateralSpent);
    return w.render();
  }

  static decode(data: Buffer): ContractEntry {
    const r = new Reader(data);
    const e = new ContractEntry(ContractRecord.decode(r.bytes(CONTRACT_RECORD_SIZE)), r.bytes(32), r.u32());
    e.paymentSpent = _readSpend(r);
    e.collateralSpent = _readSpend(r);
    r.end('contract entry');
    return e;
  }

  /** JSON-ready view for the CLI and HTTP API, with the state at chain height `tip`. */
  toInfo(tip: number): ContractInfo {
    const t = this.record.terms;
    const spend = (s: Spend | null) => (s ? { txid: txidOf(s.txHash), height: s.height } : null);
    return {
      id: this.record.id().toString('hex'),
      state: this.stateAt(tip),
      renterKey: Buffer.from(t.renterKey).toString('hex'),
      hostKey: Buffer.from(t.hostKey).toString('hex'),
      size: t.size,
      price: t.price,
      collateralRate: t.collateral,
      payment: paymentOf(t),
      collateral: collateralOf(t),
      startHeight: t.startHeight,
      endHeight: endHeightOf(t),
      refundHeight: refundHeightOf(t),
      fundingTxid: txidOf(this.txHash),
      height: this.height,
      paymentSpent: spend(this.paymentSpent),
      collateralSpent: spend(this.collateralSpent),
    };
  }
}

export interface ContractInfo {
  id: string;
  state: ContractState;
  renterKey: string;
  hostKey: string;
  size: number;
  /** Per GiB per month. */
  price: number;
  /** Collateral per GiB per month. */
  collateralRate: number;
  /** Totals locked in escrow. */
  payment: number;
  collateral: number;
  startHeight: number;
  endHeight: number;
  refundHeight: number;
  fundingTxid: string;
  /** Height of the block that funded it. */
  height: number;
  paymentSpent: { txid: string; height: number } | null;
  collateralSpent: { txid: string; height: number } | null;
}

export class RatingEntry {
  rating: RatingRecord;
  txHash: Buffer;
  height: number;

  constructor(rating: RatingRecord, txHash: Buffer, height: number) {
    this.rating = rating;
    this.txHash = txHash;
    this.height = height;
  }

  encode(): Buffer {
    const raw = this.rating.encode();
    return new Writer(2 + raw.length + 32 + 4).bytes16(raw).bytes(this.txHash).u32(this.height).render();
  }

  static decode(data: Buffer): RatingEntry {
    const r = new Reader(data);
    const e = new RatingEntry(RatingRecord.decode(r.bytes16(MAX_RATING_RECORD_SIZE)), r.bytes(32), r.u32());
    r.end('rating entry');
    return e;
  }

  toJSON(): RatingInfo {
    return {
      contractId: Buffer.from(this.rating.contractId).toString('hex'),
      raterKey: Buffer.from(this.rating.raterKey).toString('hex'),
      score: this.rating.score,
      comment: this.rating.comment,
      txid: txidOf(this.txHash),
      height: this.height,
    };
  }
}

export interface RatingInfo {
  contractId: string;
  raterKey: string;
  score: number;
  comment: string;
  txid: string;
  height: number;
}
