/**
 * ccpayack (host → renter): the host's answer to a ccpay it accepted, with
 * its own escrow signatures of the renter's variants of PAY and SPLIT for
 * the same count. `seq` names the ccpay it answers; the counts are that
 * ccpay's, so they are not repeated.
 */
import { SIG_SIZE } from '../crypto/sig.js';
import { malformed } from './errors.js';
import { VERSION, domainOf, readVersion, types, type Packet } from './packet.js';
import {
  MAX_SETTLEMENT_SIGS_SIZE, readSettlementSigs, settlementSigsSize, writeSettlementSigs, type SettlementSigs,
} from './settlementsigs.js';
import { SignedMessage } from './signed.js';
import { Reader, Writer } from './wire.js';

const FIXED_SIZE = 1 + 32 + 4;
export const MAX_PAYACK_SIZE = FIXED_SIZE + MAX_SETTLEMENT_SIGS_SIZE + SIG_SIZE;

export interface PayAckFields extends SettlementSigs {
  contractId: Uint8Array;
  /** The seq of the ccpay this answers. */
  seq: number;
}

export class PayAckPacket extends SignedMessage implements Packet, PayAckFields {
  readonly cmd = types.PAYACK;
  contractId: Uint8Array;
  seq: number;
  paySig: Uint8Array;
  splitSig: Uint8Array;

  constructor(fields: PayAckFields) {
    super();
    this.contractId = fields.contractId;
    this.seq = fields.seq;
    this.paySig = fields.paySig;
    this.splitSig = fields.splitSig;
  }

  getSize(): number {
    return FIXED_SIZE + settlementSigsSize(this) + SIG_SIZE;
  }

  signedBytes(): Buffer {
    const w = new Writer(this.getSize() - SIG_SIZE).u8(VERSION).bytes(this.contractId).u32(this.seq);
    return writeSettlementSigs(w, this).render();
  }

  protected signingDomain(): string {
    return domainOf(this.cmd);
  }

  /** True if `hostKey`, the contract's host, signed this message; the escrow signatures are checked apart. */
  verify(hostKey: Uint8Array): boolean {
    return this.verifyBy(hostKey);
  }

  static decode(data: Uint8Array): PayAckPacket {
    const r = new Reader(data);
    readVersion(r, types.PAYACK);
    const contractId = r.bytes(32, 'contract id');
    const seq = r.u32('seq');
    if (seq === 0) throw malformed('ccpayack: seq starts at 1');
    const ack = new PayAckPacket({ contractId, seq, ...readSettlementSigs(r, types.PAYACK) });
    ack.signature = r.bytes(SIG_SIZE, 'signature');
    r.end(types.PAYACK);
    return ack;
  }
}
