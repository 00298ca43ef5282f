/**
 * The NodeAdapter over a running bcoin full node: its chain, mempool, pool
 * and primary wallet, with peers and `cc*` messages going through the
 * extension's context (src/lib/ext/context.ts).
 */
import { primaryWallet, type BcoinFullNode, type BcoinPeer } from '../../chain/bcoin.js';
import { Script, type BScript, type BTX } from '../../chain/primitives.js';
import type { ExtensionContext } from '../../ext/context.js';
import { ExtensionHost } from '../../ext/host.js';
import type { IndexedChain } from '../indexer.js';
import type { FundingWallet } from '../negotiator.js';
import type { NodeAdapter, NodeLogger, NodePeer, NodeWallet, PeerEvent, TxOutput } from './adapter.js';

/** Every NodePeer a BcoinNodeAdapter hands out is one of bcoin's peers. */
function bcoinPeer(peer: NodePeer): BcoinPeer {
  return peer as BcoinPeer;
}

class BcoinNodeWallet implements NodeWallet {
  constructor(private readonly node: BcoinFullNode, private readonly ext: ExtensionContext) {}

  /** Read at each use: the daemon sets it after the extensions are initialised. */
  get passphrase(): string | undefined {
    return ExtensionHost.of(this.node).walletPassphrase;
  }

  async send(outputs: TxOutput[], passphrase: string): Promise<string> {
    const tx = await primaryWallet(this.node).send({ outputs, sort: false }, passphrase);
    return tx.txid();
  }

  lock(): Promise<void> {
    return primaryWallet(this.node).lock();
  }

  async receiveScript(): Promise<BScript> {
    return Script.fromAddress(await primaryWallet(this.node).receiveAddress());
  }

  funder(): FundingWallet {
    return this.ext.walletFunder();
  }
}

export class BcoinNodeAdapter implements NodeAdapter {
  readonly chain: IndexedChain;
  readonly wallet: NodeWallet;
  readonly logger: NodeLogger;

  constructor(private readonly node: BcoinFullNode, private readonly ext: ExtensionContext) {
    this.chain = node.chain;
    this.wallet = new BcoinNodeWallet(node, ext);
    this.logger = node.logger;
  }

  async addTX(tx: BTX): Promise<void> {
    await this.node.mempool.addTX(tx);
  }

  broadcastTX(tx: BTX): void {
    this.node.pool.broadcast(tx);
  }

  sendTX(tx: BTX): Promise<void> {
    return this.node.sendTX(tx);
  }

  on(event: PeerEvent, listener: (peer: NodePeer) => void): void {
    this.node.pool.on(event, listener);
  }

  off(event: PeerEvent, listener: (peer: NodePeer) => void): void {
    this.node.pool.removeListener(event, listener);
  }

  send(peer: NodePeer, cmd: string, payload: Uint8Array): void {
    this.ext.send(bcoinPeer(peer), cmd, payload);
  }

  broadcast(cmd: string, payload: Uint8Array, except?: NodePeer): number {
    return this.ext.broadcast(cmd, payload, except && bcoinPeer(except));
  }

  peers(): NodePeer[] {
    return this.ext.peers();
  }

  penalize(peer: NodePeer, score: number, reason: string): void {
    this.ext.penalize(bcoinPeer(peer), score, reason);
  }
}
