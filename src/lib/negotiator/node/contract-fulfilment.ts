/**
 * The NegotiatorService's fulfilment of contracts (docs/protocol.md §8.6),
 * wired together: the state store, the loop and its steps (identity key
 * import, the renter's challenges and payment revisions, the settlement
 * broadcaster, the automatic ratings), the host's countersigning of
 * commitment revisions and its answers to ccpay, and the per-contract
 * summary `contract show` and `contract list` print.
 */
import { proofWindowOf } from '../../chain/proof-window.js';
import type { KeyPair } from '../../crypto/sig.js';
import type { PayPacket } from '../../net/pay.js';
import type { PayAckPacket } from '../../net/payack.js';
import type { HostMarket } from '../../renter/host-choice.js';
import { FileServerClient } from '../../server/file-server-client.js';
import { checkId } from '../../server/ids.js';
import type { ContractEntry } from '../entries.js';
import { negotiatorError } from '../errors.js';
import type { OfferPool } from '../offerpool.js';
import { hexParam } from '../params.js';
import type { Registry } from '../registry.js';
import { Revision } from '../revision.js';
import { settlementAmounts } from '../settlement.js';
import type { RegistryDB } from '../undo.js';
import { ProofWindows } from '../windows.js';
import type { NodeAdapter } from './adapter.js';
import { AutoRatings } from './auto-ratings.js';
import type { ChainActions } from './chainactions.js';
import { HostCommitments } from './commitments.js';
import { RenterFulfilment, type HostStorageFactory } from './fulfilment.js';
import type { FulfilmentContext } from './fulfilment-context.js';
import { FulfilmentLoop, type FulfilmentStep } from './fulfilment-loop.js';
import { FulfilmentStore, type RenewalState } from './fulfilment-store.js';
import { HostPayments } from './payments.js';
import { RenterPayments } from './renter-payments.js';
import { RenterUpkeep } from './renter-upkeep.js';
import { SettlementBroadcaster } from './settlement-broadcaster.js';
import { WalletKeyImport } from './wallet-key.js';

/** What `contract show` and `contract list` print of a contract's fulfilment. */
export interface FulfilmentInfo {
  /** Proof windows of the contract (W). */
  windows: number;
  /** Windows decided so far: the renter's own record; on the host, its latest payment revision. */
  proven: number;
  missed: number;
  /** Height at which the next window opens; null once the last has opened. */
  nextWindow: number | null;
  /** Host: what its latest payment revision pays it; renter: what it has signed to pay. */
  earned: number;
  /** What the chain shows paid to the host; null before the payment's spend. */
  paid: number | null;
  commitment: { revision: number; sectors: number; bytes: number } | null;
  payment: { seq: number; proven: number; acknowledged: boolean } | null;
  /** Renter: the contract this one renewed or replaced, and the one that renewed or replaced it. */
  renewedFrom: string | null;
  renewedTo: string | null;
  /** Renter: negotiated (the renewal's sectors not carried over yet), carried, or replaced (by another host). */
  renewal: RenewalState['state'] | null;
}

/** Rounds run on every block, and at least this often. */
const ROUND_EVERY_MS = 10_000;
/** Most sector ids one PUT of a contract's sector set may carry (of 4 MiB sectors: 4 TiB). */
const MAX_SECTOR_IDS = 1 << 20;

export interface ContractFulfilmentOptions {
  /** The timer's period between rounds (they also run on every block). */
  roundEveryMs?: number;
  /** The node's data directory: with it, the renter's daemon renews and chooses hosts on its config.json's policy (renter-upkeep.ts). */
  datadir?: string;
}

export class ContractFulfilment {
  readonly store: FulfilmentStore;
  private readonly identity: KeyPair;
  private readonly loop: FulfilmentLoop;
  /** Renewals and host choice: a loop of their own, as a negotiation waits on a peer for up to half a minute. */
  private readonly upkeep: FulfilmentLoop | null;
  private readonly commitments: HostCommitments;
  private readonly hostPayments: HostPayments;
  private readonly renterPayments: RenterPayments;
  private readonly renter: RenterFulfilment;
  private readonly proofWindow: number;
  private automatic = true;

  constructor(
    private readonly node: NodeAdapter,
    identity: KeyPair,
    private readonly registry: Registry,
    private readonly synced: () => Promise<void>,
    db: RegistryDB,
    pool: OfferPool,
    chainActions: ChainActions,
    options: ContractFulfilmentOptions = {},
    market?: HostMarket,
  ) {
    this.identity = identity;
    this.proofWindow = proofWindowOf(node.network);
    this.store = new FulfilmentStore(db);
    const ctx: FulfilmentContext = { node, identity, registry, synced, store: this.store, windowsOf: (e) => this.windowsOf(e) };
    // Short: the next round asks again, and a node that stops waits for the round in progress.
    const storage: HostStorageFactory = (url, contractId) => new FileServerClient({ url, contractId, secretKey: identity.secretKey, retries: 1, timeoutMs: 15_000 });
    this.commitments = new HostCommitments(ctx);
    this.hostPayments = new HostPayments(ctx);
    this.renterPayments = new RenterPayments(ctx);
    this.renter = new RenterFulfilment(ctx, pool, this.renterPayments, storage);
    this.loop = new FulfilmentLoop(node, [
      new WalletKeyImport(node, identity),
      ...[this.renter, new SettlementBroadcaster(ctx, chainActions), new AutoRatings(ctx, chainActions)].map((step) => this._whenAutomatic(step)),
    ], options.roundEveryMs ?? ROUND_EVERY_MS);
    this.upkeep = options.datadir && market
      ? new FulfilmentLoop(node, [this._whenAutomatic(new RenterUpkeep({
        ...ctx, market, datadir: options.datadir,
        carrier: (url, contractId) => new FileServerClient({ url, contractId, secretKey: identity.secretKey, retries: 1, timeoutMs: 30_000 }),
        setExpected: async (id, ids) => void (await this.setExpectedSectors(id, ids)),
      }))], options.roundEveryMs ?? ROUND_EVERY_MS)
      : null;
  }

  /** `step`, run only while the daemon acts on its own. */
  private _whenAutomatic(step: FulfilmentStep): FulfilmentStep {
    return { name: step.name, run: async () => { if (this.automatic) await step.run(); } };
  }

  windowsOf(e: ContractEntry): ProofWindows {
    return new ProofWindows(e.record.terms, this.proofWindow);
  }

  async open(): Promise<void> {
    await this.store.open();
    this.automatic = await this.store.automatic();
    this.loop.open();
    this.upkeep?.open();
  }

  /**
   * Whether the daemon challenges, pays, broadcasts settlements and rates on
   * its own (it does unless told otherwise); off, the node still answers its
   * counterparties (revisions, ccpay) and everything can be done by hand.
   * Kept across restarts.
   */
  async setAutomatic(automatic: unknown): Promise<{ automatic: boolean }> {
    if (typeof automatic !== 'boolean') throw negotiatorError('EUSAGE', 'automatic must be true or false');
    await this.store.setAutomatic(automatic);
    this.automatic = automatic;
    this.node.logger.info(`negotiator: automatic fulfilment ${automatic ? 'on' : 'off'}`);
    return { automatic };
  }

  async close(): Promise<void> {
    await this.upkeep?.close();
    await this.loop.close();
    await this.store.close();
  }

  /** Runs one round of the daemon's fulfilment work now (tests; the loop runs them on its own). */
  round(): Promise<void> {
    return this.loop.round();
  }

  /** Runs one round of renewals and host choice now, if this node has them. */
  async upkeepRound(): Promise<void> {
    await this.upkeep?.round();
  }

  /** Renter: the sector ids its store put on contract `id`, replacing what it said before. */
  async setExpectedSectors(id: string, ids: unknown): Promise<{ contractId: string; sectors: number }> {
    const contractId = hexParam(id, 32, 'contract id');
    if (!Array.isArray(ids) || ids.length > MAX_SECTOR_IDS) throw negotiatorError('EUSAGE', `ids must be an array of at most ${MAX_SECTOR_IDS} sector ids`);
    for (const s of ids) {
      try {
        checkId(s, 'sector id');
      } catch (err) {
        throw negotiatorError('EUSAGE', (err as Error).message);
      }
    }
    await this.synced();
    const e = await this.registry.getContract(contractId);
    if (!e) throw negotiatorError('ENOTFOUND', 'no such contract on chain');
    if (!Buffer.from(this.identity.publicKey).equals(e.record.terms.renterKey)) throw negotiatorError('ENOTPARTY', 'this node is not the renter of that contract');
    await this.store.setExpectedSectors(contractId, ids as string[]);
    this.renter.expectedChanged(contractId.toString('hex'));
    void this.loop.round();
    return { contractId: contractId.toString('hex'), sectors: new Set(ids).size };
  }

  /** Host: countersigns a commitment revision its file server checked. */
  countersign(id: string, revisionHex: unknown): Promise<{ revision: string }> {
    return this.commitments.countersign(id, revisionHex);
  }

  onPay(pay: PayPacket, now: number): Promise<PayAckPacket | null> {
    return this.hostPayments.onPay(pay, now);
  }

  onAck(ack: PayAckPacket): Promise<void> {
    return this.renterPayments.onAck(ack);
  }

  /** This node's view of a contract's fulfilment at height `tip`; null if it is not a party. */
  async info(e: ContractEntry, tip: number): Promise<FulfilmentInfo | null> {
    const terms = e.record.terms;
    const me = Buffer.from(this.identity.publicKey);
    const host = me.equals(terms.hostKey);
    if (!host && !me.equals(terms.renterKey)) return null;
    const id = e.record.id();
    const windows = this.windowsOf(e);
    const payment = await this.store.payment(id);
    let proven = payment?.proven ?? 0;
    let missed = payment?.missed ?? 0;
    if (!host) {
      const states = [...(await this.store.windows(id)).values()];
      proven = states.filter((s) => s.outcome === 'proven').length;
      missed = states.filter((s) => s.outcome === 'missed').length;
    }
    const next = windows.nextAfter(tip);
    const commitment = await this.store.commitment(id);
    const rev = commitment ? Revision.decode(Buffer.from(commitment.revision, 'hex')) : null;
    const paid = e.paymentSpent ? e.paymentSpent.outcome?.hostPaid ?? 0 : null;
    const renewal = host ? null : await this.store.renewal(id);
    return {
      windows: windows.count,
      proven,
      missed,
      nextWindow: next === null ? null : windows.opensAt(next),
      earned: payment ? settlementAmounts('pay', terms, { windows: windows.count, proven: payment.proven }).hostPaid : 0,
      paid,
      commitment: rev ? { revision: rev.revision, sectors: rev.sectorCount, bytes: rev.totalBytes } : null,
      payment: payment ? { seq: payment.seq, proven: payment.proven, acknowledged: payment.acked?.seq === payment.seq } : null,
      renewedFrom: host ? null : await this.store.renewedFrom(id),
      renewedTo: renewal?.to ?? null,
      renewal: renewal?.state ?? null,
    };
  }
}
