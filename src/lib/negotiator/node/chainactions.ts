/**
 * What the NegotiatorService does on chain by itself, outside any
 * negotiation: transactions it builds from the node's wallet or its
 * identity key and broadcasts: a record in an OP_RETURN (a rating), and
 * the refund of an escrow. Rating and refund wait for the registry to reach
 * the tip first, so they check the contract against what the chain says now.
 */
import type { KeyPair } from '../../crypto/sig.js';
import { CloudCoinError, ExitCode } from '../../errors.js';
import { ExtensionHost } from '../../ext/host.js';
import { HttpError } from '../../ext/types.js';
import { Script, type BTX } from '../../chain/primitives.js';
import type { ContractEntry, RatingInfo } from '../entries.js';
import { escrowValue, refundHeightOf, refundWitness, signEscrowInput, spendEscrow, type EscrowKind } from '../escrow.js';
import { hexParam, intParam } from '../params.js';
import { RatingRecord } from '../records.js';
import type { Registry } from '../registry.js';

export class ChainActions {
  /** `node` is bcoin's FullNode, untyped here: its chain, mempool, pool and wallet. */
  constructor(
    private readonly node: any,
    private readonly identity: KeyPair,
    private readonly registry: Registry,
    private readonly synced: () => Promise<void>,
  ) {}

  private _wallet(): any {
    return this.node.plugins.walletdb.wdb.primary;
  }

  private _passphrase(): string {
    const p = ExtensionHost.of(this.node).walletPassphrase;
    if (!p) throw new HttpError(423, 'the node holds no wallet passphrase: start it with CLOUDCOIN_PASSPHRASE');
    return p;
  }

  /** A contract on chain that this node's key is a party of. */
  private async _ownContract(contractId: Buffer, missing: string): Promise<{ e: ContractEntry; me: Buffer }> {
    await this.synced();
    const e = await this.registry.getContract(contractId);
    if (!e) throw new HttpError(404, missing);
    const me = Buffer.from(this.identity.publicKey);
    if (!me.equals(e.record.terms.renterKey) && !me.equals(e.record.terms.hostKey)) throw new HttpError(422, 'this node is not a party of that contract');
    return { e, me };
  }

  /** Puts a rating of contract `id` by this node's key on chain. */
  async rate(id: string, score: number, comment = ''): Promise<RatingInfo & { state: 'broadcast' }> {
    const contractId = hexParam(id, 32, 'contract id');
    intParam(score, 'score', 1, 5);
    if (typeof comment !== 'string') throw new HttpError(400, 'comment must be a string');
    const { me } = await this._ownContract(contractId, 'no such contract on chain: only a funded contract can be rated');
    if ((await this.registry.ratingsFor(contractId)).some((r) => me.equals(r.rating.raterKey))) throw new HttpError(409, 'this node already rated that contract');
    let record: RatingRecord;
    try {
      record = new RatingRecord({ contractId, raterKey: me, score, comment }).sign(this.identity.secretKey);
    } catch (err) {
      throw new HttpError(400, `invalid rating: ${(err as Error).message}`);
    }
    const tx = await this.putRecord(record.encode());
    return { contractId: id.toLowerCase(), raterKey: me.toString('hex'), score, comment, txid: tx, height: -1, state: 'broadcast' };
  }

  /** A wallet transaction whose output 0 carries `data` in an OP_RETURN (sort: false keeps it first). */
  async putRecord(data: Buffer): Promise<string> {
    const wallet = this._wallet();
    try {
      const tx = await wallet.send({ outputs: [{ script: Script.fromNulldata(data), value: 0 }], sort: false }, this._passphrase());
      return tx.txid();
    } catch (err) {
      if (err instanceof HttpError) throw err;
      const message = (err as Error).message;
      if (/funds/i.test(message)) throw new HttpError(402, `insufficient funds for the record's fee: ${message}`);
      throw new HttpError(500, message);
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
    if ((kind === 'payment' ? e.paymentSpent : e.collateralSpent) !== null) throw new HttpError(409, `the ${kind} escrow is already spent`);
    const refundHeight = refundHeightOf(terms);
    if (this.node.chain.height < refundHeight) {
      throw new HttpError(409, `the refund path opens at height ${refundHeight} (chain is at ${this.node.chain.height}); before that only a cooperative close spends the escrow`);
    }
    const funding = await this._fundingTx(e);
    const value = escrowValue(terms, kind) - fee;
    if (value < 1000) throw new HttpError(400, 'the escrow output does not cover the fee');
    const address = await this._wallet().receiveAddress();
    const mtx = spendEscrow(funding, terms, [kind], [{ script: (Script as any).fromAddress(address), value }], refundHeight);
    refundWitness(mtx, 0, terms, kind, signEscrowInput(mtx, 0, terms, kind, this.identity.secretKey));
    const tx = mtx.toTX();
    try {
      await this.node.mempool.addTX(tx);
    } catch (err) {
      throw new HttpError(409, `the refund was rejected: ${(err as Error).message}`);
    }
    this.node.pool.broadcast(tx);
    return { txid: tx.txid(), kind, value };
  }

  private async _fundingTx(e: ContractEntry): Promise<BTX> {
    const entry = await this.node.chain.getEntryByHeight(e.height);
    const block = entry && await this.node.chain.getBlock(entry.hash);
    const tx = block?.txs.find((t: BTX) => t.hash().equals(e.txHash));
    if (!tx) throw new CloudCoinError('ENOTFOUND', 'the funding transaction is not in the block store', ExitCode.failure);
    return tx;
  }
}
