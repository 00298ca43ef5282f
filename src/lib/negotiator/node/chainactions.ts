/**
 * What the NegotiatorService does on chain by itself, outside any
 * negotiation: transactions it builds from the node's wallet or its
 * identity key and broadcasts: a record in an OP_RETURN (a rating), and
 * the refund of an escrow. Rating and refund wait for the registry to reach
 * the tip first, so they check the contract against what the chain says now.
 */
import { Script } from '../../chain/primitives.js';
import type { KeyPair } from '../../crypto/sig.js';
import { isCloudCoinError } from '../../errors.js';
import { endHeightOf } from '../../net/terms.js';
import type { ContractEntry, RatingInfo } from '../entries.js';
import { negotiatorError } from '../errors.js';
import { escrowValue, ownerRefundHeight, refundWitness, signEscrowInput, spendEscrow, type EscrowKind } from '../escrow.js';
import { hexParam, intParam } from '../params.js';
import { RatingRecord } from '../records.js';
import type { Registry } from '../registry.js';
import type { NodeAdapter } from './adapter.js';
import { fundingTxOf } from './funding-tx.js';

export class ChainActions {
  constructor(
    private readonly node: NodeAdapter,
    private readonly identity: KeyPair,
    private readonly registry: Registry,
    private readonly synced: () => Promise<void>,
  ) {}

  private _passphrase(): string {
    const p = this.node.wallet.passphrase;
    if (!p) throw negotiatorError('ELOCKED', 'the node holds no wallet passphrase: start it with CLOUDCOIN_PASSPHRASE');
    return p;
  }

  /** A contract on chain that this node's key is a party of. */
  private async _ownContract(contractId: Buffer, missing: string): Promise<{ e: ContractEntry; me: Buffer }> {
    await this.synced();
    const e = await this.registry.getContract(contractId);
    if (!e) throw negotiatorError('ENOTFOUND', missing);
    const me = Buffer.from(this.identity.publicKey);
    if (!me.equals(e.record.terms.renterKey) && !me.equals(e.record.terms.hostKey)) throw negotiatorError('ENOTPARTY', 'this node is not a party of that contract');
    return { e, me };
  }

  /** Puts a rating of contract `id` by this node's key on chain. */
  async rate(id: string, score: number, comment = ''): Promise<RatingInfo & { state: 'broadcast' }> {
    const contractId = hexParam(id, 32, 'contract id');
    intParam(score, 'score', 1, 5);
    if (typeof comment !== 'string') throw negotiatorError('EUSAGE', 'comment must be a string');
    const { e, me } = await this._ownContract(contractId, 'no such contract on chain: only a funded contract can be rated');
    const end = endHeightOf(e.record.terms);
    // Mined at the earliest in the next block: the registry counts a rating from the end height on.
    if (this.node.chain.height + 1 < end) {
      throw negotiatorError('ECONFLICT', `the contract ends at height ${end} (chain is at ${this.node.chain.height}): a rating counts only from its end`);
    }
    if ((await this.registry.ratingsFor(contractId)).some((r) => me.equals(r.rating.raterKey))) throw negotiatorError('ECONFLICT', 'this node already rated that contract');
    let record: RatingRecord;
    try {
      record = new RatingRecord({ contractId, raterKey: me, score, comment }).sign(this.identity.secretKey);
    } catch (err) {
      throw negotiatorError('EUSAGE', `invalid rating: ${(err as Error).message}`);
    }
    const tx = await this.putRecord(record.encode());
    return { contractId: id.toLowerCase(), raterKey: me.toString('hex'), score, comment, txid: tx, height: -1, state: 'broadcast' };
  }

  /** A wallet transaction whose output 0 carries `data` in an OP_RETURN. */
  async putRecord(data: Buffer): Promise<string> {
    const wallet = this.node.wallet;
    try {
      return await wallet.send([{ script: Script.fromNulldata(data), value: 0 }], this._passphrase());
    } catch (err) {
      if (isCloudCoinError(err)) throw err;
      const message = (err as Error).message;
      if (/funds/i.test(message)) throw negotiatorError('EFUNDS', `insufficient funds for the record's fee: ${message}`);
      throw negotiatorError('EWALLET', message);
    } finally {
      await wallet.lock().catch(() => {});
    }
  }

  /**
   * The unilateral settlement path: after the refund height, this node's own
   * contribution (the renter's payment, the host's collateral) back to its
   * wallet, signed with the identity key alone.
   */
  async settle(id: string, fee = 2000): Promise<{ txid: string; kind: EscrowKind; value: number }> {
    const contractId = hexParam(id, 32, 'contract id');
    const { e, me } = await this._ownContract(contractId, 'no such contract on chain');
    const terms = e.record.terms;
    const kind: EscrowKind = me.equals(terms.hostKey) ? 'collateral' : 'payment';
    if ((kind === 'payment' ? e.paymentSpent : e.collateralSpent) !== null) throw negotiatorError('ECONFLICT', `the ${kind} escrow is already spent`);
    const refundHeight = ownerRefundHeight(terms, kind);
    if (this.node.chain.height < refundHeight) {
      const whose = kind === 'payment' ? 'the renter\'s payment' : 'the host\'s collateral';
      throw negotiatorError('ECONFLICT', `the refund path opens at height ${refundHeight} for ${whose} (chain is at ${this.node.chain.height}); before that only a settlement signed by both spends it`);
    }
    const funding = await fundingTxOf(this.node.chain, e);
    const value = escrowValue(terms, kind) - fee;
    if (value < 1000) throw negotiatorError('EUSAGE', 'the escrow output does not cover the fee');
    const mtx = spendEscrow(funding, terms, [kind], [{ script: await this.node.wallet.receiveScript(), value }], refundHeight);
    refundWitness(mtx, 0, terms, kind, signEscrowInput(mtx, 0, terms, kind, this.identity.secretKey));
    const tx = mtx.toTX();
    try {
      await this.node.addTX(tx);
    } catch (err) {
      throw negotiatorError('ECONFLICT', `the refund was rejected: ${(err as Error).message}`);
    }
    this.node.broadcastTX(tx);
    return { txid: tx.txid(), kind, value };
  }
}
