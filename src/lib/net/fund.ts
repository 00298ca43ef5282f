/**
 * ccfund (renter → host), after both signed the terms: the renter's coins
 * and change, and the funding fee. The renter pays half the fee rounded up,
 * the host the rest; docs/protocol.md gives the transaction's exact shape.
 */
import { malformed } from './errors.js';
import { fundingPartSize, readFundingPart, writeFundingPart, type FundingPart } from './funding.js';
import { NegotiationPacket, types, type Header } from './packet.js';
import { MAX_MONEY } from './terms.js';
import { Reader, type Writer } from './wire.js';

export class FundPacket extends NegotiationPacket {
  readonly cmd = types.FUND;
  fee: number;
  part: FundingPart;

  constructor(header: Header, fee: number, part: FundingPart) {
    super(header);
    this.fee = fee;
    this.part = part;
  }

  protected getBodySize(): number {
    return 8 + fundingPartSize(this.part);
  }

  protected writeBody(w: Writer): void {
    w.u64(this.fee);
    writeFundingPart(w, this.part);
  }

  static decode(data: Uint8Array): FundPacket {
    const r = new Reader(data);
    const header = NegotiationPacket.readHeader(r, types.FUND);
    const fee = r.u64('fee');
    if (fee > MAX_MONEY) throw malformed('ccfund: fee above the money supply');
    return new FundPacket(header, fee, readFundingPart(r)).readSignature(r);
  }
}
