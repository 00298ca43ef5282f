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

/** How an escrow output was spent: a settlement (PAY or SPLIT) both signed, or its owner's refund path. */
export type SpendBy = 'settlement' | 'refund';

/**
 * What one escrow output's spend paid, as the chain shows it. A settlement
 * carries its outcome record's counts; a refund has none (all zero).
 */
export interface SideOutcome {
  by: SpendBy;
  seq: number;
  windows: number;
  proven: number;
  missed: number;
  hostPaid: number;
  renterRefunded: number;
  collateralReturned: number;
  burned: number;
}

export interface Spend {
  /** Spending transaction hash, internal byte order. */
  txHash: Buffer;
  height: number;
  /** null: a 2-of-2 spend that is not a settlement of this contract (what it paid is not judged). */
  outcome: SideOutcome | null;
}

/** ContractInfo.outcome: both sides' spends together, null until the first. */
export interface ContractOutcome {
  /** The counts of the PAY settlement, else of the SPLIT; null if neither side was settled. */
  windows: number | null;
  proven: number | null;
  missed: number | null;
  seq: number | null;
  hostPaid: number;
  renterRefunded: number;
  collateralReturned: number;
  burned: number;
  paymentBy: SpendBy | null;
  collateralBy: SpendBy | null;
}

const SIDE_OUTCOME_SIZE = 1 + 4 + 2 + 2 + 2 + 8 * 4;
const SPEND_SIZE = 1 + 32 + 4 + 1 + SIDE_OUTCOME_SIZE;
const BY_CODE: Record<SpendBy, number> = { settlement: 1, refund: 2 };

/** Display form of a transaction hash: bcoin's txid, byte-reversed hex. */
export function txidOf(hash: Uint8Array): string {
  return Buffer.from(hash).reverse().toString('hex');
}

function _writeSpend(w: Writer, s: Spend | null): void {
  w.u8(s ? 1 : 0);
  if (!s) return;
  w.bytes(s.txHash).u32(s.height).u8(s.outcome ? 1 : 0);
  const o = s.outcome;
  if (o) {
    w.u8(BY_CODE[o.by]).u32(o.seq).u16(o.windows).u16(o.proven).u16(o.missed)
      .u64(o.hostPaid).u64(o.renterRefunded).u64(o.collateralReturned).u64(o.burned);
  }
}

function _readSpend(r: Reader): Spend | null {
  if (!r.u8()) return null;
  const spend: Spend = { txHash: r.bytes(32), height: r.u32(), outcome: null };
  if (r.u8()) {
    const code = r.u8('spent by');
    const by = (Object.keys(BY_CODE) as SpendBy[]).find((k) => BY_CODE[k] === code);
    if (!by) throw new RangeError(`contract entry: unknown spend kind ${code}`);
    spend.outcome = {
      by, seq: r.u32(), windows: r.u16(), proven: r.u16(), missed: r.u16(),
      hostPaid: r.u64(), renterRefunded: r.u64(), collateralReturned: r.u64(), burned: r.u64(),
    };
  }
  return spend;
}

function _spendSize(s: Spend | null): number {
  if (!s) return 1;
  return s.outcome ? SPEND_SIZE : SPEND_SIZE - SIDE_OUTCOME_SIZE;
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
    const size = CONTRACT_RECORD_SIZE + 32 + 4 + _spendSize(this.paymentSpent) + _spendSize(this.collateralSpent);
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

  /** Both sides' outcomes together; null while neither escrow output is spent. */
  outcome(): ContractOutcome | null {
    const pay = this.paymentSpent;
    const col = this.collateralSpent;
    if (!pay && !col) return null;
    const sides = [pay?.outcome, col?.outcome];
    const counted = sides.find((o) => o?.by === 'settlement') ?? null;
    const sum = (k: 'hostPaid' | 'renterRefunded' | 'collateralReturned' | 'burned') => sides.reduce((n, o) => n + (o ? o[k] : 0), 0);
    return {
      windows: counted?.windows ?? null,
      proven: counted?.proven ?? null,
      missed: counted?.missed ?? null,
      seq: counted?.seq ?? null,
      hostPaid: sum('hostPaid'),
      renterRefunded: sum('renterRefunded'),
      collateralReturned: sum('collateralReturned'),
      burned: sum('burned'),
      paymentBy: pay?.outcome?.by ?? null,
      collateralBy: col?.outcome?.by ?? null,
    };
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
      outcome: this.outcome(),
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
  /** What the spends paid; null until the first (see ContractOutcome). */
  outcome: ContractOutcome | null;
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
