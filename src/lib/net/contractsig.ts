/**
 * The body shared by ccaccept and ccsign: the sender's signature over the
 * final contract terms (domain `cloudcoin/contract`), the signature that
 * goes into the on-chain contract record. Which terms are meant follows from
 * the negotiation: the last propose or counter.
 */
import { SIG_SIZE } from '../crypto/sig.js';
import { NegotiationPacket, type Header, type PacketType } from './packet.js';
import type { Reader, Writer } from './wire.js';

export abstract class ContractSigPacket extends NegotiationPacket {
  contractSig: Uint8Array;

  constructor(header: Header, contractSig: Uint8Array) {
    super(header);
    this.contractSig = contractSig;
  }

  protected getBodySize(): number {
    return SIG_SIZE;
  }

  protected writeBody(w: Writer): void {
    w.bytes(this.contractSig);
  }

  protected static readContractSig(r: Reader, cmd: PacketType): { header: Header; contractSig: Buffer } {
    const header = NegotiationPacket.readHeader(r, cmd);
    return { header, contractSig: r.bytes(SIG_SIZE, 'contract signature') };
  }
}
