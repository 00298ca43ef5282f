/**
 * One entry point for every cc* message a peer sends: decode it, hand it to
 * the OfferPool, the Negotiator or the contracts' fulfilment (payment
 * revisions), and say what to do next. The node
 * extension calls `dispatch` from its message handler, sends `reply` to the
 * same peer, announces `announce` (a ccinv) to the other peers, broadcasts
 * `tx`, and turns a thrown ProtocolError into the peer's ban score.
 */
import { ProtocolError, BanScore } from '../net/errors.js';
import { GetOfferPacket } from '../net/getoffer.js';
import { MAX_HASHES } from '../net/hashlist.js';
import { InvPacket } from '../net/inv.js';
import { OfferPacket } from '../net/offer.js';
import { decode, type Packet } from '../net/packets.js';
import type { BMTX } from '../chain/primitives.js';
import { PayPacket } from '../net/pay.js';
import { PayAckPacket } from '../net/payack.js';
import type { Negotiation } from './negotiation.js';
import type { Negotiator } from './negotiator.js';
import type { OfferPool } from './offerpool.js';

export interface Delivery {
  /** Packets to send back to the sending peer, in order: `peer.sendRaw(p.cmd, p.encode())`. */
  reply: Packet[];
  /** Offer hashes newly added: announce them to every other peer in a ccinv. */
  announce: Buffer[];
  /** The negotiation the message belonged to. */
  negotiation?: Negotiation;
  /** Renter: a complete funding transaction to broadcast. */
  tx?: BMTX;
  /** Our own wallet failed (the negotiation was refused; see Outcome.error). */
  error?: Error;
  /** The peer's fault, once `reply` (a ccrefuse) is sent: its ban score (see Outcome.fault). */
  fault?: ProtocolError;
}

/** Who answers payment revisions: the host side takes a ccpay, the renter side a ccpayack. */
export interface PaymentHandler {
  /** The ccpayack to send back, or null when the ccpay is for another host. */
  onPay(pay: PayPacket, now: number): Promise<PayAckPacket | null>;
  onAck(ack: PayAckPacket): Promise<void>;
}

/**
 * Handles one raw message from `peer` (a stable id of the connection) at
 * unix time `now`. `negotiator` may be null on a node that only relays
 * offers, `payments` on one that fulfils no contract; the offer pool's
 * eviction and the negotiator count a peer's offers and proposes by its
 * address group `group` (src/lib/net/netgroup.ts).
 * Throws ProtocolError, and only that, for anything the peer got wrong,
 * unless a reply must go out first (Delivery.fault).
 */
export async function dispatch(
  pool: OfferPool, negotiator: Negotiator | null, peer: string, cmd: string, body: Uint8Array, now: number, payments: PaymentHandler | null = null,
  group = peer,
): Promise<Delivery> {
  const packet = decode(cmd, body);
  if (packet instanceof InvPacket) {
    const want = pool.handleInv(peer, packet, now);
    return { reply: want.length > 0 ? [new GetOfferPacket(want.slice(0, MAX_HASHES))] : [], announce: [] };
  }
  if (packet instanceof GetOfferPacket) return { reply: pool.handleGetOffer(peer, packet, now), announce: [] };
  if (packet instanceof OfferPacket) {
    const added = await pool.add(packet, now, peer, group);
    return { reply: [], announce: added.added ? [added.hash] : [] };
  }
  if (packet instanceof PayPacket || packet instanceof PayAckPacket) {
    if (!payments) throw new ProtocolError('not-fulfilling', `${packet.cmd}: this node fulfils no contract`, BanScore.none);
    if (packet instanceof PayAckPacket) {
      await payments.onAck(packet);
      return { reply: [], announce: [] };
    }
    const ack = await payments.onPay(packet, now);
    return { reply: ack ? [ack] : [], announce: [] };
  }
  if (!negotiator) throw new ProtocolError('not-negotiating', `${packet.cmd}: this node does not negotiate`, BanScore.none);
  const out = await negotiator.handle(packet, now, group);
  return { reply: out.send, announce: [], negotiation: out.negotiation, tx: out.tx, error: out.error, fault: out.fault };
}
