/**
 * The NodeAdapter over a running bcoin full node: its chain, mempool, pool
 * and primary wallet, with peers and `cc*` messages going through the
 * extension's context (src/lib/ext/context.ts).
 */
import { bcoin, primaryWallet, type BcoinFullNode, type BcoinPeer, type BcoinWallet } from '../../chain/bcoin.js';
import { isNetworkName, type NetworkName } from '../../chain/names.js';
import { Script, type BScript, type BTX } from '../../chain/primitives.js';
import type { ExtensionContext } from '../../ext/context.js';
import { ExtensionHost } from '../../ext/host.js';
import { canonicalHostPort, formatHostPort } from '../../net/address.js';
import { netgroupOf } from '../../net/netgroup.js';
import type { IndexedChain } from '../indexer.js';
import type { FundingWallet } from '../negotiator.js';
import type { NodeAdapter, NodeLogger, NodePeer, NodeWallet, PeerEvent, TxOutput, UnspentCoin } from './adapter.js';
import { type DialablePool, dialAddress, reachableAddresses } from './reachable.js';

/** bcoin's Wallet members for keys outside its derivation chain. */
interface KeyImportingWallet extends BcoinWallet {
  hasAddress(address: unknown): Promise<boolean>;
  importKey(account: number, ring: unknown, passphrase: string): Promise<void>;
}

/** bcoin 1.0.2's FullNode.getCoin: the mempool's output, or the chain's unless the mempool spends it; hashes in hex. */
interface CoinLookup {
  getCoin(hash: string, index: number): Promise<{ value: number; script: BScript } | null>;
}

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

  async importKey(secretKey: Uint8Array, passphrase: string): Promise<boolean> {
    const wallet = primaryWallet(this.node) as KeyImportingWallet;
    // Not a witness ring: the key's address is P2PKH, the settlement payout script.
    const ring = bcoin.KeyRing.fromPrivate(Buffer.from(secretKey), true);
    if (await wallet.hasAddress(ring.getAddress())) return false;
    try {
      await wallet.importKey(0, ring, passphrase);
    } finally {
      await wallet.lock();
    }
    return true;
  }
}

/** Our networks are registered in bcoin as `cc<name>` (chain/networks.ts, bcoinType). */
function networkOf(node: BcoinFullNode): NetworkName {
  const name = node.network.type.replace(/^cc/, '');
  if (!isNetworkName(name)) throw new RangeError(`not a CloudCoin network: ${node.network.type}`);
  return name;
}

export class BcoinNodeAdapter implements NodeAdapter {
  readonly network: NetworkName;
  readonly chain: IndexedChain;
  readonly wallet: NodeWallet;
  readonly logger: NodeLogger;

  constructor(private readonly node: BcoinFullNode, private readonly ext: ExtensionContext) {
    this.network = networkOf(node);
    this.chain = node.chain;
    this.wallet = new BcoinNodeWallet(node, ext);
    this.logger = node.logger;
  }

  tipTime(): number {
    return this.node.chain.tip.time;
  }

  async addTX(tx: BTX): Promise<void> {
    await this.node.mempool.addTX(tx);
  }

  broadcastTX(tx: BTX): void {
    this.node.pool.broadcast(tx);
  }

  async sendTX(tx: BTX): Promise<void> {
    await this.node.sendTX(tx);
    // bcoin's sendTX logs a refusal of score 0 (a double spend among them) and relays the transaction anyway; its mempool is keyed by hex hash.
    if (!this.node.mempool.hasEntry(tx.hash().toString('hex'))) throw new Error(`the mempool refused transaction ${tx.txid()} (see the node's log)`);
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

  reachableAddresses(): string[] {
    return reachableAddresses(this.node.pool as unknown as DialablePool);
  }

  dial(address: string): Promise<void> {
    return dialAddress(this.node.pool as unknown as DialablePool, address);
  }

  listenAddressOf(peer: NodePeer): string | null {
    const p = bcoinPeer(peer);
    return p.outbound ? canonicalHostPort(formatHostPort(p.address.host, p.address.port)) : null;
  }

  groupOf(peer: NodePeer): string {
    return netgroupOf(bcoinPeer(peer).address.host);
  }

  async coin(hash: Uint8Array, index: number): Promise<UnspentCoin | null> {
    const coin = await (this.node as unknown as CoinLookup).getCoin(Buffer.from(hash).toString('hex'), index);
    return coin ? { value: coin.value, script: coin.script.toRaw() } : null;
  }

  penalize(peer: NodePeer, score: number, reason: string): void {
    this.ext.penalize(bcoinPeer(peer), score, reason);
  }
}
