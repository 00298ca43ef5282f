/** ccinv: "I have these offers" — announced by hash, fetched on demand with ccgetoffer. */
import { HashListPacket } from './hashlist.js';
import { types } from './packet.js';

export class InvPacket extends HashListPacket {
  readonly cmd = types.INV;

  static decode(data: Uint8Array): InvPacket {
    return new InvPacket(HashListPacket.readHashes(data, types.INV));
  }
}
