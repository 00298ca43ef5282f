/**
 * The host's side of the payment revisions (docs/protocol.md §8.6): a ccpay
 * for a contract whose host is this node is checked (§11: forged, replayed,
 * stale, over-counted, shrinking, for no contract), the
 * renter's escrow signatures are checked against the host variants this
 * node builds itself, the revision is kept as the latest, and the answer is
 * a ccpayack carrying the host's signatures of the renter variants. A ccpay
 * for another host's contract is dropped unread, as a ccpropose is: renters
 * send it to every peer. The exact ccpay already answered, sent again (its
 * answer was lost), is answered again without penalty. The sequence number
 * is checked before the counts, so a delayed older ccpay costs a replay's
 * 10, not a shrinking payment's 20.
 */
import { BanScore, ProtocolError } from '../../net/errors.js';
import type { PayPacket } from '../../net/pay.js';
import { PayAckPacket } from '../../net/payack.js';
import type { ContractEntry } from '../entries.js';
import { buildSettlement, signSettlement, verifySettlementSig, type SettlementState } from '../settlement.js';
import { shortId, type FulfilmentContext } from './fulfilment-context.js';
import type { PaymentState } from './fulfilment-store.js';
import { fundingTxOf } from './funding-tx.js';

/** How far ahead a ccpay may expire: its lifetime is at most an hour, plus clock skew. */
const MAX_EXPIRY_AHEAD = 3600 + 300;

export class HostPayments {
  constructor(private readonly ctx: FulfilmentContext) {}

  /** The ccpayack to send back, or null for a ccpay that is not this node's business. Throws ProtocolError. */
  async onPay(pay: PayPacket, now: number): Promise<PayAckPacket | null> {
    const e = await this.ctx.registry.getContract(pay.contractId);
    if (!e) throw new ProtocolError('unknown-contract', 'ccpay: no such contract on chain', BanScore.splice);
    const terms = e.record.terms;
    if (!Buffer.from(this.ctx.identity.publicKey).equals(terms.hostKey)) return null;
    if (!pay.verify(terms.renterKey)) throw new ProtocolError('bad-signature', 'ccpay: not signed by the contract\'s renter', BanScore.badSignature);
    const latest = await this.ctx.store.payment(e.record.id());
    if (latest && pay.seq <= latest.seq) {
      if (latest.acked && pay.encode().toString('hex') === latest.packet) return this._ack(e, latest);
      throw new ProtocolError('replay', `ccpay: sequence ${pay.seq} is not above ${latest.seq}`, BanScore.replay);
    }
    const windows = this.ctx.windowsOf(e).count;
    if (pay.windows !== windows || pay.proven + pay.missed > windows) {
      throw new ProtocolError('bad-count', `ccpay: ${pay.proven} proven + ${pay.missed} missed of ${pay.windows} windows; the contract has ${windows}`, BanScore.splice);
    }
    if (latest && pay.proven < latest.proven) throw new ProtocolError('shrinking', `ccpay: ${pay.proven} windows proven, below the ${latest.proven} already signed`, BanScore.splice);
    if (pay.expiry <= now || pay.expiry > now + MAX_EXPIRY_AHEAD) throw new ProtocolError('expired', 'ccpay: expired or expiring too far ahead', BanScore.expired);
    const state: SettlementState = { windows, proven: pay.proven, missed: pay.missed, seq: pay.seq };
    const funding = await fundingTxOf(this.ctx.node.chain, e);
    for (const [kind, sig] of [['pay', pay.paySig], ['split', pay.splitSig]] as const) {
      if (!verifySettlementSig(buildSettlement(kind, 'host', funding, terms, state), kind, terms, sig, terms.renterKey)) {
        throw new ProtocolError('bad-signature', `ccpay: the renter's signature of ${kind.toUpperCase()} does not verify`, BanScore.badSignature);
      }
    }
    const hostPay = signSettlement(buildSettlement('pay', 'renter', funding, terms, state), 'pay', terms, this.ctx.identity.secretKey);
    const hostSplit = signSettlement(buildSettlement('split', 'renter', funding, terms, state), 'split', terms, this.ctx.identity.secretKey);
    const kept: PaymentState = {
      ...state,
      packet: pay.encode().toString('hex'),
      renterPay: Buffer.from(pay.paySig).toString('hex'),
      renterSplit: Buffer.from(pay.splitSig).toString('hex'),
      sentAt: now,
      acked: { seq: pay.seq, proven: pay.proven, missed: pay.missed, hostPay: hostPay.toString('hex'), hostSplit: hostSplit.toString('hex') },
    };
    await this.ctx.store.setPayment(e.record.id(), kept);
    this.ctx.node.logger.info(`negotiator: contract ${shortId(e.record.id())}: payment revision ${pay.seq} signed (${pay.proven} of ${windows} windows proven, ${pay.missed} missed)`);
    return this._ack(e, kept);
  }

  private _ack(e: ContractEntry, kept: PaymentState): PayAckPacket {
    const acked = kept.acked!;
    return new PayAckPacket({ contractId: e.record.id(), seq: acked.seq, paySig: Buffer.from(acked.hostPay, 'hex'), splitSig: Buffer.from(acked.hostSplit, 'hex') }).sign(this.ctx.identity.secretKey);
  }
}
