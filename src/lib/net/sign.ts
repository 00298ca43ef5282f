/** ccsign: the answer to ccaccept, the other party's signature of the same terms. */
import { ContractSigPacket } from './contractsig.js';
import { types } from './packet.js';
import { Reader } from './wire.js';

export class SignPacket extends ContractSigPacket {
  readonly cmd = types.SIGN;

  static decode(data: Uint8Array): SignPacket {
    const r = new Reader(data);
    const { header, contractSig } = ContractSigPacket.readContractSig(r, types.SIGN);
    return new SignPacket(header, contractSig).readSignature(r);
  }
}
