/** ccrefuse: either party ends the negotiation, with a reason code. */
import { malformed } from './errors.js';
import { NegotiationPacket, types, type Header } from './packet.js';
import { Reader, type Writer } from './wire.js';

export const RefuseReason = {
  /** Unspecified, or refused by hand. */
  other: 0,
  /** The price is below the host's floor (or above the renter's ceiling). */
  price: 1,
  /** The host has no room left for this size. */
  capacity: 2,
  /** The host has reached its maximum number of contracts. */
  contracts: 3,
  /** Size or duration outside the offer's ranges. */
  range: 4,
  /** The offer is unknown, withdrawn or expired. */
  offer: 5,
  /** The funding offered does not add up. */
  funding: 6,
} as const;

export type RefuseReasonValue = (typeof RefuseReason)[keyof typeof RefuseReason];
const MAX_REASON = 6;

export class RefusePacket extends NegotiationPacket {
  readonly cmd = types.REFUSE;
  reason: RefuseReasonValue;

  constructor(header: Header, reason: RefuseReasonValue) {
    super(header);
    this.reason = reason;
  }

  protected getBodySize(): number {
    return 1;
  }

  protected writeBody(w: Writer): void {
    w.u8(this.reason);
  }

  static decode(data: Uint8Array): RefusePacket {
    const r = new Reader(data);
    const header = NegotiationPacket.readHeader(r, types.REFUSE);
    const reason = r.u8('reason');
    if (reason > MAX_REASON) throw malformed(`ccrefuse: unknown reason ${reason}`);
    return new RefusePacket(header, reason as RefuseReasonValue).readSignature(r);
  }
}
