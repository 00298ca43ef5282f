/** ccgetoffer: asks a peer for the offers with these hashes (answered with ccoffer each). */
import { HashListPacket } from './hashlist.js';
import { types } from './packet.js';

export class GetOfferPacket extends HashListPacket {
  readonly cmd = types.GETOFFER;

  static decode(data: Uint8Array): GetOfferPacket {
    return new GetOfferPacket(HashListPacket.readHashes(data, types.GETOFFER));
  }
}
