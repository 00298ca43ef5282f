/**
 * CloudCoin's P2P packets: the entry point for the node's extension.
 *
 * bcoin delivers a command it does not know as an UnknownPacket (cmd + raw
 * bytes). `decode(cmd, bytes)` turns one of ours into a typed packet after
 * the stateless checks (size, version, layout, field ranges), or throws a
 * ProtocolError whose `score` goes to the peer's ban score. Signatures and
 * everything else that needs state (expiry against the clock, duplicates,
 * replay) are checked by the OfferPool and the Negotiation: the pool looks an
 * offer up by hash before it spends time verifying its signature.
 */
import { AcceptPacket } from './accept.js';
import { CounterPacket } from './counter.js';
import { BanScore, ProtocolError } from './errors.js';
import { FundPacket } from './fund.js';
import { FundSigPacket } from './fundsig.js';
import { GetOfferPacket } from './getoffer.js';
import { MAX_HASHLIST_SIZE } from './hashlist.js';
import { InvPacket } from './inv.js';
import { MAX_OFFER_SIZE, OfferPacket } from './offer.js';
import { HEADER_SIZE, types, type PacketType } from './packet.js';
import { MAX_PAY_SIZE, PayPacket } from './pay.js';
import { MAX_PAYACK_SIZE, PayAckPacket } from './payack.js';
import { ProposePacket } from './propose.js';
import { RefusePacket } from './refuse.js';
import { SignPacket } from './sign.js';
import { TERMS_SIZE } from './terms.js';

export { types, type Packet, type PacketType } from './packet.js';
export {
  AcceptPacket, CounterPacket, FundPacket, FundSigPacket, GetOfferPacket, InvPacket, OfferPacket, PayAckPacket, PayPacket,
  ProposePacket, RefusePacket, SignPacket,
};

export type AnyPacket =
  | InvPacket | GetOfferPacket | OfferPacket | ProposePacket | CounterPacket | AcceptPacket | SignPacket
  | RefusePacket | FundPacket | FundSigPacket | PayPacket | PayAckPacket;

/** Largest body of each command, checked before any parsing. */
export const MAX_SIZE: Record<PacketType, number> = {
  [types.INV]: MAX_HASHLIST_SIZE,
  [types.GETOFFER]: MAX_HASHLIST_SIZE,
  [types.OFFER]: MAX_OFFER_SIZE,
  [types.PROPOSE]: HEADER_SIZE + 32 + TERMS_SIZE + 64,
  [types.COUNTER]: HEADER_SIZE + TERMS_SIZE + 64,
  [types.ACCEPT]: HEADER_SIZE + 64 + 64,
  [types.SIGN]: HEADER_SIZE + 64 + 64,
  [types.REFUSE]: HEADER_SIZE + 1 + 64,
  [types.FUND]: 8 * 1024,
  [types.FUNDSIG]: 64 * 1024,
  [types.PAY]: MAX_PAY_SIZE,
  [types.PAYACK]: MAX_PAYACK_SIZE,
};

const CMDS = new Set<string>(Object.values(types));

/** True for the commands this module decodes; anything else stays bcoin's unknown packet. */
export function isCloudCoinCommand(cmd: string): cmd is PacketType {
  return CMDS.has(cmd);
}

/** Decodes one of our packets; throws ProtocolError (with a ban score) and nothing else. */
export function decode(cmd: string, data: Uint8Array): AnyPacket {
  if (!isCloudCoinCommand(cmd)) throw new ProtocolError('unknown-command', `not a CloudCoin command: ${cmd}`, BanScore.none);
  if (!(data instanceof Uint8Array)) throw new TypeError('data must be a Uint8Array');
  if (data.length > MAX_SIZE[cmd]) {
    throw new ProtocolError('oversize', `${cmd}: ${data.length} bytes exceeds ${MAX_SIZE[cmd]}`, BanScore.oversize);
  }
  switch (cmd) {
    case types.INV:
      return InvPacket.decode(data);
    case types.GETOFFER:
      return GetOfferPacket.decode(data);
    case types.OFFER:
      return OfferPacket.decode(data);
    case types.PROPOSE:
      return ProposePacket.decode(data);
    case types.COUNTER:
      return CounterPacket.decode(data);
    case types.ACCEPT:
      return AcceptPacket.decode(data);
    case types.SIGN:
      return SignPacket.decode(data);
    case types.REFUSE:
      return RefusePacket.decode(data);
    case types.FUND:
      return FundPacket.decode(data);
    case types.FUNDSIG:
      return FundSigPacket.decode(data);
    case types.PAY:
      return PayPacket.decode(data);
    case types.PAYACK:
      return PayAckPacket.decode(data);
  }
}

/** The command and body to hand to bcoin's `peer.sendRaw(cmd, body)`. */
export function encode(packet: AnyPacket): { cmd: PacketType; body: Buffer } {
  return { cmd: packet.cmd, body: packet.encode() };
}
