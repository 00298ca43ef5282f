/**
 * ccpropose (renter → host): opens a negotiation for an offer with the
 * renter's terms. It is the first message (seq 1, prev all zeros) and names
 * its own signer: the terms' renter key.
 */
import { malformed } from './errors.js';
import { NegotiationPacket, types, type Header } from './packet.js';
import { TERMS_SIZE, readTerms, writeTerms, type Terms } from './terms.js';
import { Reader, type Writer } from './wire.js';

export class ProposePacket extends NegotiationPacket {
  readonly cmd = types.PROPOSE;
  /** The offer these terms answer. */
  offerHash: Uint8Array;
  terms: Terms;

  constructor(header: Header, offerHash: Uint8Array, terms: Terms) {
    super(header);
    this.offerHash = offerHash;
    this.terms = terms;
  }

  protected getBodySize(): number {
    return 32 + TERMS_SIZE;
  }

  protected writeBody(w: Writer): void {
    w.bytes(this.offerHash);
    writeTerms(w, this.terms);
  }

  static decode(data: Uint8Array): ProposePacket {
    const r = new Reader(data);
    const header = NegotiationPacket.readHeader(r, types.PROPOSE);
    const p = new ProposePacket(header, r.bytes(32, 'offer hash'), readTerms(r)).readSignature(r);
    if (p.seq !== 1 || p.prev.some((b) => b !== 0)) throw malformed('ccpropose: must open the negotiation (seq 1, zero prev)');
    if (Buffer.compare(p.nid, p.terms.nid) !== 0) throw malformed('ccpropose: header and terms name different negotiations');
    return p;
  }
}
