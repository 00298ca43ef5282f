/**
 * cccounter (host → renter): the host's counter-proposal. Same parties and
 * negotiation id as the propose; any of size, start, duration, price and
 * collateral may differ (checked in context by the negotiation).
 */
import { NegotiationPacket, types, type Header } from './packet.js';
import { TERMS_SIZE, readTerms, writeTerms, type Terms } from './terms.js';
import { Reader, type Writer } from './wire.js';

export class CounterPacket extends NegotiationPacket {
  readonly cmd = types.COUNTER;
  terms: Terms;

  constructor(header: Header, terms: Terms) {
    super(header);
    this.terms = terms;
  }

  protected getBodySize(): number {
    return TERMS_SIZE;
  }

  protected writeBody(w: Writer): void {
    writeTerms(w, this.terms);
  }

  static decode(data: Uint8Array): CounterPacket {
    const r = new Reader(data);
    const header = NegotiationPacket.readHeader(r, types.COUNTER);
    return new CounterPacket(header, readTerms(r)).readSignature(r);
  }
}
