/** ccaccept: the host accepts a propose, or the renter a counter, and signs the terms. */
import { ContractSigPacket } from './contractsig.js';
import { types } from './packet.js';
import { Reader } from './wire.js';

export class AcceptPacket extends ContractSigPacket {
  readonly cmd = types.ACCEPT;

  static decode(data: Uint8Array): AcceptPacket {
    const r = new Reader(data);
    const { header, contractSig } = ContractSigPacket.readContractSig(r, types.ACCEPT);
    return new AcceptPacket(header, contractSig).readSignature(r);
  }
}
