/**
 * The renter's payment revisions (docs/protocol.md §8.6): after each window it
 * decides, the renter signs the host variants of PAY(p) and SPLIT(p)
 * (settlement.ts) and sends them in a ccpay to every peer; the host's node
 * answers a ccpayack with its signatures of the renter variants, which the
 * renter keeps to settle alone at the refund height. A ccpay no one answered
 * goes out again; once it is close to its expiry a fresh one replaces it
 * under the next sequence number, so a host that got it is never sent the
 * same number twice with other bytes (which it would score as a replay).
 *
 * A revision is numbered max(the previous one + 1, unix time): every number
 * sent before was at most the time it was sent, so a renter that lost its
 * state (a reinstall that kept only the identity key) still numbers above
 * the host's latest instead of starting from 1 again as a replay.
 */
import { BanScore, ProtocolError } from '../../net/errors.js';
import { PayPacket } from '../../net/pay.js';
import { PayAckPacket } from '../../net/payack.js';
import { types } from '../../net/packets.js';
import type { ContractEntry } from '../entries.js';
import { unixNow } from '../params.js';
import { buildSettlement, signSettlement, verifySettlementSig, type SettlementState } from '../settlement.js';
import { shortId, type FulfilmentContext } from './fulfilment-context.js';
import type { PaymentState, WindowState } from './fulfilment-store.js';
import { fundingTxOf } from './funding-tx.js';

/** Lifetime of a ccpay, seconds (the most the protocol allows is an hour). */
const PAY_TTL = 3600;
/** A ccpay without an answer goes out again after this many seconds. */
const RESEND_AFTER = 60;
/** A ccpay this close to its expiry is replaced rather than sent again. */
const REISSUE_BEFORE = 300;

export class RenterPayments {
  constructor(private readonly ctx: FulfilmentContext) {}

  /**
   * Sends a new payment revision if the decided windows changed since the
   * last one. With no window decided there is nothing to pay: a revision of
   * none would only be refused, as shrinking, by a host that holds a later one
   * from before this renter lost its state.
   */
  async update(e: ContractEntry, states: Map<number, WindowState>): Promise<void> {
    let proven = 0;
    let missed = 0;
    for (const s of states.values()) {
      if (s.outcome === 'proven') proven++;
      if (s.outcome === 'missed') missed++;
    }
    if (proven + missed === 0) return;
    const latest = await this.ctx.store.payment(e.record.id());
    if (latest && latest.proven === proven && latest.missed === missed) return;
    await this._issue(e, latest, proven, missed);
  }

  /** Sends the latest payment revision again if no ccpayack answered it. */
  async resend(e: ContractEntry): Promise<void> {
    const latest = await this.ctx.store.payment(e.record.id());
    const now = unixNow();
    if (!latest || latest.acked?.seq === latest.seq || now - latest.sentAt < RESEND_AFTER) return;
    const packet = PayPacket.decode(Buffer.from(latest.packet, 'hex'));
    if (packet.expiry - now < REISSUE_BEFORE) {
      await this._issue(e, latest, latest.proven, latest.missed);
      return;
    }
    this.ctx.node.broadcast(types.PAY, packet.encode());
    await this.ctx.store.setPayment(e.record.id(), { ...latest, sentAt: now });
  }

  private async _issue(e: ContractEntry, latest: PaymentState | null, proven: number, missed: number): Promise<void> {
    const terms = e.record.terms;
    const id = e.record.id();
    const now = unixNow();
    const state: SettlementState = { windows: this.ctx.windowsOf(e).count, proven, missed, seq: Math.max((latest?.seq ?? 0) + 1, now) };
    const funding = await fundingTxOf(this.ctx.node.chain, e);
    const paySig = signSettlement(buildSettlement('pay', 'host', funding, terms, state), 'pay', terms, this.ctx.identity.secretKey);
    const splitSig = signSettlement(buildSettlement('split', 'host', funding, terms, state), 'split', terms, this.ctx.identity.secretKey);
    const packet = new PayPacket({ contractId: id, ...state, expiry: now + PAY_TTL, paySig, splitSig }).sign(this.ctx.identity.secretKey);
    await this.ctx.store.setPayment(id, {
      ...state,
      packet: packet.encode().toString('hex'),
      renterPay: paySig.toString('hex'),
      renterSplit: splitSig.toString('hex'),
      sentAt: now,
      acked: latest?.acked ?? null,
    });
    const peers = this.ctx.node.broadcast(types.PAY, packet.encode());
    this.ctx.node.logger.info(`negotiator: contract ${shortId(id)}: payment revision ${state.seq} (${proven} of ${state.windows} windows proven, ${missed} missed) sent to ${peers} peers`);
  }

  /**
   * A host's ccpayack: kept if it answers the latest ccpay with the host's
   * valid signatures of the renter variants. Throws ProtocolError for a
   * forged, spliced or replayed one; an answer to an older ccpay is dropped.
   */
  async onAck(ack: PayAckPacket): Promise<void> {
    const e = await this.ctx.registry.getContract(ack.contractId);
    if (!e) throw new ProtocolError('unknown-contract', 'ccpayack: no such contract on chain', BanScore.splice);
    const terms = e.record.terms;
    if (!Buffer.from(this.ctx.identity.publicKey).equals(terms.renterKey)) throw new ProtocolError('unknown-contract', 'ccpayack: this node is not the contract\'s renter', BanScore.splice);
    if (!ack.verify(terms.hostKey)) throw new ProtocolError('bad-signature', 'ccpayack: not signed by the contract\'s host', BanScore.badSignature);
    const latest = await this.ctx.store.payment(e.record.id());
    if (!latest || ack.seq > latest.seq) throw new ProtocolError('unexpected', `ccpayack: no ccpay ${ack.seq} was sent`, BanScore.splice);
    if (latest.acked !== null && ack.seq <= latest.acked.seq) {
      // The host answers a ccpay sent again with the same bytes (its signatures are deterministic): no fault of its own.
      if (ack.seq === latest.acked.seq && Buffer.from(ack.paySig).toString('hex') === latest.acked.hostPay) return;
      throw new ProtocolError('replay', `ccpayack: ccpay ${ack.seq} is already acknowledged`, BanScore.replay);
    }
    // An answer to a ccpay since replaced: its counts are no longer kept, and the latest one's answer is coming.
    if (ack.seq < latest.seq) return;
    const funding = await fundingTxOf(this.ctx.node.chain, e);
    for (const [kind, sig] of [['pay', ack.paySig], ['split', ack.splitSig]] as const) {
      if (!verifySettlementSig(buildSettlement(kind, 'renter', funding, terms, latest), kind, terms, sig, terms.hostKey)) {
        throw new ProtocolError('bad-signature', `ccpayack: the host's signature of ${kind.toUpperCase()} does not verify`, BanScore.badSignature);
      }
    }
    const acked = { seq: latest.seq, proven: latest.proven, missed: latest.missed, hostPay: Buffer.from(ack.paySig).toString('hex'), hostSplit: Buffer.from(ack.splitSig).toString('hex') };
    await this.ctx.store.setPayment(e.record.id(), { ...latest, acked });
  }
}
