/**
 * Who broadcasts what, on its own (docs/protocol.md §8.6): the settlements
 * both parties signed in advance go on chain without anyone running a
 * command.
 *
 * Host, from the contract's end: its latest PAY (host variant) once every
 * window is decided, or one window after the end if the renter stopped
 * sending revisions; its latest SPLIT too if every window was proven
 * (otherwise waiting for its own collateral path is never worse for it);
 * and from refundHeight + COLLATERAL_DELAY, collateral still in escrow comes
 * back by the refund branch.
 * Renter, from the refund height: while the payment is in escrow, the
 * latest PAY renter variant the host acknowledged (so a host that vanished
 * is still paid what it proved), or the refund branch if it has none; if it
 * recorded a missed window and the collateral is in escrow, the latest SPLIT
 * renter variant the host acknowledged. It never burns when no window was
 * missed.
 *
 * Each is sent once and sent again after a few blocks while its escrow
 * output stays unspent (the mempool may have dropped it); the registry's
 * view of the escrow is what says it is done.
 */
import type { BTX } from '../../chain/primitives.js';
import type { ContractEntry } from '../entries.js';
import { ownerRefundHeight, refundHeightOf } from '../escrow.js';
import { buildSettlement, completeSettlement, signSettlement, type SettlementKind, type SettlementVariant } from '../settlement.js';
import type { ChainActions } from './chainactions.js';
import { shortId, type FulfilmentContext } from './fulfilment-context.js';
import type { FulfilmentStep } from './fulfilment-loop.js';
import { SentKind, type AckedPayment, type SentKindValue } from './fulfilment-store.js';
import { fundingTxOf } from './funding-tx.js';

/** Blocks after which a settlement whose output is still unspent is sent again. */
const RESEND_BLOCKS = 6;

export class SettlementBroadcaster implements FulfilmentStep {
  readonly name = 'settlement broadcaster';
  /** What failed last per contract and kind, so a failure that repeats is logged once. */
  private readonly failed = new Map<string, string>();

  constructor(
    private readonly ctx: FulfilmentContext,
    private readonly chainActions: ChainActions,
  ) {}

  async run(): Promise<void> {
    await this.ctx.synced();
    const tip = this.ctx.node.chain.height;
    for (const e of await this.ctx.registry.listByKey(this.ctx.identity.publicKey, 'any')) {
      const terms = e.record.terms;
      if (e.paymentSpent && e.collateralSpent) continue;
      const host = Buffer.from(this.ctx.identity.publicKey).equals(terms.hostKey);
      if (host) await this._host(e, tip);
      else if (tip >= refundHeightOf(terms)) await this._renter(e);
    }
  }

  private async _host(e: ContractEntry, tip: number): Promise<void> {
    const windows = this.ctx.windowsOf(e);
    const end = windows.startHeight + windows.duration;
    if (tip < end) return;
    const latest = (await this.ctx.store.payment(e.record.id()))?.acked ?? null;
    if (latest && !e.paymentSpent && (latest.proven + latest.missed === windows.count || tip >= end + windows.proofWindow)) {
      await this._settle(e, 'pay', 'host', latest, SentKind.PAY);
    }
    if (latest && !e.collateralSpent && latest.proven === windows.count) await this._settle(e, 'split', 'host', latest, SentKind.SPLIT);
    if (!e.collateralSpent && tip >= ownerRefundHeight(e.record.terms, 'collateral')) await this._refund(e);
  }

  private async _renter(e: ContractEntry): Promise<void> {
    const acked = (await this.ctx.store.payment(e.record.id()))?.acked ?? null;
    if (!e.paymentSpent) {
      if (acked) await this._settle(e, 'pay', 'renter', acked, SentKind.PAY);
      else await this._refund(e);
    }
    const missed = [...(await this.ctx.store.windows(e.record.id())).values()].some((w) => w.outcome === 'missed');
    if (!e.collateralSpent && missed && acked) await this._settle(e, 'split', 'renter', acked, SentKind.SPLIT);
  }

  /** Whether a settlement of this kind was sent recently enough not to send it again. */
  private async _recent(e: ContractEntry, kind: SentKindValue): Promise<boolean> {
    const sent = await this.ctx.store.sent(e.record.id(), kind);
    return sent !== null && this.ctx.node.chain.height < sent.height + RESEND_BLOCKS;
  }

  private async _settle(e: ContractEntry, kind: SettlementKind, variant: SettlementVariant, acked: AckedPayment, mark: SentKindValue): Promise<void> {
    if (await this._recent(e, mark)) return;
    const terms = e.record.terms;
    const mtx = buildSettlement(kind, variant, await fundingTxOf(this.ctx.node.chain, e), terms, { ...acked, windows: this.ctx.windowsOf(e).count });
    const mine = signSettlement(mtx, kind, terms, this.ctx.identity.secretKey);
    const theirs = await this._theirSignature(e, kind, variant, acked);
    const tx = completeSettlement(mtx, kind, terms, variant === 'host' ? theirs : mine, variant === 'host' ? mine : theirs);
    await this._send(e, tx, mark, `${kind.toUpperCase()} (${variant} variant, ${acked.proven} of ${this.ctx.windowsOf(e).count} windows proven)`);
  }

  /** The other party's signature: the renter's came in its ccpay (host variants), the host's in its ccpayack (renter variants). */
  private async _theirSignature(e: ContractEntry, kind: SettlementKind, variant: SettlementVariant, acked: AckedPayment): Promise<Buffer> {
    if (variant === 'renter') return Buffer.from(kind === 'pay' ? acked.hostPay : acked.hostSplit, 'hex');
    const latest = (await this.ctx.store.payment(e.record.id()))!;
    return Buffer.from(kind === 'pay' ? latest.renterPay : latest.renterSplit, 'hex');
  }

  private async _refund(e: ContractEntry): Promise<void> {
    if (await this._recent(e, SentKind.REFUND)) return;
    const key = `${e.record.id().toString('hex')}:refund`;
    try {
      const r = await this.chainActions.settle(e.record.id().toString('hex'));
      await this.ctx.store.setSent(e.record.id(), SentKind.REFUND, { txid: r.txid, height: this.ctx.node.chain.height });
      this.failed.delete(key);
      this.ctx.node.logger.info(`negotiator: contract ${shortId(e.record.id())}: ${r.kind} refunded by the refund branch (${r.txid})`);
    } catch (err) {
      this._failure(key, e, `refund: ${(err as Error).message}`);
    }
  }

  private async _send(e: ContractEntry, tx: BTX, mark: SentKindValue, what: string): Promise<void> {
    const key = `${e.record.id().toString('hex')}:${mark}`;
    try {
      await this.ctx.node.addTX(tx);
      this.ctx.node.broadcastTX(tx);
    } catch (err) {
      const message = (err as Error).message;
      // Still in the mempool from the last time: nothing to do but wait for a block.
      if (!/already/i.test(message)) {
        this._failure(key, e, `${what}: ${message}`);
        return;
      }
    }
    await this.ctx.store.setSent(e.record.id(), mark, { txid: tx.txid(), height: this.ctx.node.chain.height });
    this.failed.delete(key);
    this.ctx.node.logger.info(`negotiator: contract ${shortId(e.record.id())}: broadcast ${what}: ${tx.txid()}`);
  }

  private _failure(key: string, e: ContractEntry, message: string): void {
    if (this.failed.get(key) === message) return;
    this.failed.set(key, message);
    this.ctx.node.logger.warning(`negotiator: contract ${shortId(e.record.id())}: ${message}; trying again`);
  }
}
