/**
 * ccpay (renter → host): a payment revision. After each window it decides,
 * the renter tells the host how many windows were proven and missed, with
 * its escrow signatures of the PAY and SPLIT transactions for that count,
 * so the host holds what it earned so far. `seq` orders a contract's
 * revisions; the proven count never goes down. Sent to every peer like a
 * ccpropose: a node that is not the contract's host drops it unread.
 */
import { SIG_SIZE } from '../crypto/sig.js';
import { malformed } from './errors.js';
import { VERSION, domainOf, readVersion, types, type Packet } from './packet.js';
import {
  MAX_SETTLEMENT_SIGS_SIZE, readSettlementSigs, settlementSigsSize, writeSettlementSigs, type SettlementSigs,
} from './settlementsigs.js';
import { SignedMessage } from './signed.js';
import { Reader, Writer } from './wire.js';

const FIXED_SIZE = 1 + 32 + 4 + 2 + 2 + 2 + 4;
export const MAX_PAY_SIZE = FIXED_SIZE + MAX_SETTLEMENT_SIGS_SIZE + SIG_SIZE;

export interface PayFields extends SettlementSigs {
  contractId: Uint8Array;
  /** From 1, strictly increasing per contract. */
  seq: number;
  /** The contract's number of proof windows (W). */
  windows: number;
  /** Windows proven so far (p). */
  proven: number;
  /** Windows missed so far (m). */
  missed: number;
  /** Unix time (seconds) after which the message is void. */
  expiry: number;
}

export class PayPacket extends SignedMessage implements Packet, PayFields {
  readonly cmd = types.PAY;
  contractId: Uint8Array;
  seq: number;
  windows: number;
  proven: number;
  missed: number;
  expiry: number;
  paySig: Uint8Array;
  splitSig: Uint8Array;

  constructor(fields: PayFields) {
    super();
    this.contractId = fields.contractId;
    this.seq = fields.seq;
    this.windows = fields.windows;
    this.proven = fields.proven;
    this.missed = fields.missed;
    this.expiry = fields.expiry;
    this.paySig = fields.paySig;
    this.splitSig = fields.splitSig;
  }

  getSize(): number {
    return FIXED_SIZE + settlementSigsSize(this) + SIG_SIZE;
  }

  signedBytes(): Buffer {
    const w = new Writer(this.getSize() - SIG_SIZE)
      .u8(VERSION)
      .bytes(this.contractId)
      .u32(this.seq)
      .u16(this.windows)
      .u16(this.proven)
      .u16(this.missed)
      .u32(this.expiry);
    return writeSettlementSigs(w, this).render();
  }

  protected signingDomain(): string {
    return domainOf(this.cmd);
  }

  /** True if `renterKey`, the contract's renter, signed this message; the escrow signatures are checked apart. */
  verify(renterKey: Uint8Array): boolean {
    return this.verifyBy(renterKey);
  }

  static decode(data: Uint8Array): PayPacket {
    const r = new Reader(data);
    readVersion(r, types.PAY);
    const contractId = r.bytes(32, 'contract id');
    const seq = r.u32('seq');
    if (seq === 0) throw malformed('ccpay: seq starts at 1');
    const windows = r.u16('windows');
    if (windows === 0) throw malformed('ccpay: a contract has at least one window');
    const pay = new PayPacket({
      contractId, seq, windows, proven: r.u16('proven'), missed: r.u16('missed'), expiry: r.u32('expiry'), ...readSettlementSigs(r, types.PAY),
    });
    pay.signature = r.bytes(SIG_SIZE, 'signature');
    r.end(types.PAY);
    return pay;
  }
}
