/**
 * ccfundsig (host → renter): the host's coins and change, and its witnesses
 * for its own inputs of the funding transaction that both sides now build
 * identically. The renter checks them, adds its own and broadcasts.
 */
import {
  fundingPartSize, readFundingPart, readWitness, witnessSize, writeFundingPart, writeWitness, type FundingPart,
} from './funding.js';
import { NegotiationPacket, types, type Header } from './packet.js';
import { Reader, type Writer } from './wire.js';

export class FundSigPacket extends NegotiationPacket {
  readonly cmd = types.FUNDSIG;
  part: FundingPart;
  /** One witness stack per coin of `part`, in order. */
  witnesses: Uint8Array[][];

  constructor(header: Header, part: FundingPart, witnesses: Uint8Array[][]) {
    super(header);
    if (witnesses.length !== part.coins.length) throw new RangeError('one witness per funding coin is required');
    this.part = part;
    this.witnesses = witnesses;
  }

  protected getBodySize(): number {
    return fundingPartSize(this.part) + this.witnesses.reduce((n, wit) => n + witnessSize(wit), 0);
  }

  protected writeBody(w: Writer): void {
    writeFundingPart(w, this.part);
    for (const wit of this.witnesses) writeWitness(w, wit);
  }

  static decode(data: Uint8Array): FundSigPacket {
    const r = new Reader(data);
    const header = NegotiationPacket.readHeader(r, types.FUNDSIG);
    const part = readFundingPart(r);
    const witnesses: Buffer[][] = [];
    for (let i = 0; i < part.coins.length; i++) witnesses.push(readWitness(r));
    return new FundSigPacket(header, part, witnesses).readSignature(r);
  }
}
