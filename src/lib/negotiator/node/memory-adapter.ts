/**
 * A NodeAdapter without a node, to run NegotiatorServices inside one
 * process: `connect(a, b)` makes each the other's peer, and a message one
 * sends arrives, on a later turn of the event loop, at the handler the other
 * `listen`s with, as an extension's message handler gets it from bcoin. Its
 * chain is a MemoryChain (memory-chain.ts), empty unless the caller mines
 * blocks, possibly shared with other adapters. What a node would put on
 * chain stays in lists a caller can read: the transactions sent (`mempool`,
 * until a block mines them), the wallet's records (`wallet.sent`, and the
 * keys it imported), and the ban score of each peer.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { NetworkName } from '../../chain/names.js';
import { MTX, Script, type BBlock, type BScript, type BTX } from '../../chain/primitives.js';
import { MisbehaviorError } from '../../ext/types.js';
import { publicKeyOf } from '../../crypto/sig.js';
import { canonicalHostPort } from '../../net/address.js';
import { negotiatorError } from '../errors.js';
import type { FundingWallet } from '../negotiator.js';
import type { NodeAdapter, NodeLogger, NodePeer, NodeWallet, PeerEvent, TxOutput } from './adapter.js';
import { MemoryChain } from './memory-chain.js';

export type MessageListener = (peer: NodePeer, cmd: string, payload: Buffer) => Promise<void>;

/** A funder without coins: every share fails as a wallet without funds does. */
const NO_COINS: FundingWallet = {
  share: async (amount) => { throw negotiatorError('EFUNDS', `the in-memory wallet holds no coins for a share of ${amount} base units`); },
  sign: async () => { throw negotiatorError('EWALLET', 'the in-memory wallet holds no coins to sign for'); },
};

export interface MemoryWalletOptions {
  passphrase?: string;
  /** Funds and signs contracts; without one every share fails with EFUNDS. */
  funder?: FundingWallet;
}

export interface MemoryNodeOptions extends MemoryWalletOptions {
  /** Default: a chain of this adapter's own. */
  chain?: MemoryChain;
  /** Default: dev. */
  network?: NetworkName;
  /** `host:port` other MemoryNodeAdapters of this process dial it at (default: not dialable). */
  address?: string;
}

class MemoryWallet implements NodeWallet {
  /** Transactions `send` built, oldest first; each spends a made-up coin. */
  readonly sent: BTX[] = [];
  readonly passphrase: string | undefined;
  /** Public keys (hex) of the keys `importKey` added. */
  readonly imported = new Set<string>();
  private readonly fund: FundingWallet;
  private readonly receive: BScript = Script.fromProgram(0, randomBytes(20));

  constructor(options: MemoryWalletOptions) {
    this.passphrase = options.passphrase;
    this.fund = options.funder ?? NO_COINS;
  }

  async send(outputs: TxOutput[], passphrase: string): Promise<string> {
    if (passphrase !== this.passphrase) throw negotiatorError('EWALLET', 'wrong passphrase');
    const mtx = new MTX();
    // bcoin serialises no transaction without an input: a coin no chain holds stands for the wallet's.
    mtx.addInput({ prevout: { hash: randomBytes(32).toString('hex'), index: 0 } });
    for (const o of outputs) mtx.addOutput(o.script, o.value);
    const tx = mtx.toTX();
    this.sent.push(tx);
    return tx.txid();
  }

  async lock(): Promise<void> {}

  async receiveScript(): Promise<BScript> {
    return this.receive;
  }

  funder(): FundingWallet {
    return this.fund;
  }

  async importKey(secretKey: Uint8Array, passphrase: string): Promise<boolean> {
    if (passphrase !== this.passphrase) throw negotiatorError('EWALLET', 'wrong passphrase');
    const key = Buffer.from(publicKeyOf(secretKey)).toString('hex');
    if (this.imported.has(key)) return false;
    this.imported.add(key);
    return true;
  }
}

class MemoryPeer implements NodePeer {
  private static next = 1;
  readonly id = MemoryPeer.next++;
  banScore = 0;
  /** The peer that stands for us at `remote`. */
  back: MemoryPeer | null = null;

  /** Whether we dialled `remote`: only then do we know its address. */
  constructor(readonly remote: MemoryNodeAdapter, readonly outbound: boolean) {}
}

class MemoryLogger implements NodeLogger {
  readonly lines: string[] = [];

  info(message: string): void {
    this.lines.push(`info: ${message}`);
  }

  warning(message: string): void {
    this.lines.push(`warning: ${message}`);
  }

  error(message: string): void {
    this.lines.push(`error: ${message}`);
  }
}

const BAN_SCORE = 100;

export class MemoryNodeAdapter implements NodeAdapter {
  readonly network: NetworkName;
  readonly chain: MemoryChain;
  readonly wallet: MemoryWallet;
  readonly logger = new MemoryLogger();
  /** Transactions added to the mempool, oldest first. */
  readonly mempool: BTX[] = [];
  /** Transactions announced to the peers, oldest first. */
  readonly relayed: BTX[] = [];
  private readonly events = new EventEmitter();
  private readonly connected = new Set<MemoryPeer>();
  private listener: MessageListener | null = null;
  /** Every MemoryNodeAdapter of this process that has an address: what `dial` reaches. */
  private static readonly byAddress = new Map<string, MemoryNodeAdapter>();
  /** Addresses this node dialled, in order. */
  readonly dialled: string[] = [];
  private readonly address: string | undefined;

  constructor(options: MemoryNodeOptions = {}) {
    this.address = options.address;
    if (options.address) MemoryNodeAdapter.byAddress.set(options.address, this);
    this.network = options.network ?? 'dev';
    this.chain = options.chain ?? new MemoryChain();
    this.wallet = new MemoryWallet(options);
    this.chain.on('connect', (_entry: unknown, block: BBlock) => this._mined(block));
  }

  /** What a block mined leaves the mempool, as bcoin's mempool drops it. */
  private _mined(block: BBlock): void {
    const mined = new Set(block.txs.map((tx) => tx.txid()));
    const kept = this.mempool.filter((tx) => !mined.has(tx.txid()));
    this.mempool.splice(0, this.mempool.length, ...kept);
  }

  /** Makes `a` and `b` peers of each other, as if `a` had dialled `b`; both see 'peer open'. */
  static connect(a: MemoryNodeAdapter, b: MemoryNodeAdapter): void {
    const atA = new MemoryPeer(b, true);
    const atB = new MemoryPeer(a, false);
    atA.back = atB;
    atB.back = atA;
    a.connected.add(atA);
    b.connected.add(atB);
    a.events.emit('peer open', atA);
    b.events.emit('peer open', atB);
  }

  /** Where messages from peers go (the NegotiatorService's onMessage). */
  listen(listener: MessageListener): void {
    this.listener = listener;
  }

  /** The ban score this node gave `peer`. */
  banScore(peer: NodePeer): number {
    return this._peer(peer).banScore;
  }

  private _peer(peer: NodePeer): MemoryPeer {
    if (!(peer instanceof MemoryPeer)) throw new TypeError('not a peer of a MemoryNodeAdapter');
    return peer;
  }

  private _disconnect(peer: MemoryPeer): void {
    if (!this.connected.delete(peer)) return;
    this.events.emit('peer close', peer);
    if (peer.back) peer.remote._disconnect(peer.back);
  }

  private async _receive(peer: MemoryPeer, cmd: string, payload: Buffer): Promise<void> {
    if (!this.connected.has(peer) || !this.listener) return;
    try {
      await this.listener(peer, cmd, payload);
    } catch (err) {
      if (err instanceof MisbehaviorError) this.penalize(peer, err.score, `${cmd}: ${err.message}`);
      else this.logger.error(`failed on ${cmd}: ${(err as Error).message}`);
    }
  }

  tipTime(): number {
    return this.chain.tipTime();
  }

  async addTX(tx: BTX): Promise<void> {
    if (this.mempool.some((t) => t.txid() === tx.txid())) throw new Error('transaction already in the mempool');
    this.mempool.push(tx);
  }

  broadcastTX(tx: BTX): void {
    this.relayed.push(tx);
  }

  async sendTX(tx: BTX): Promise<void> {
    await this.addTX(tx);
    this.broadcastTX(tx);
  }

  on(event: PeerEvent, listener: (peer: NodePeer) => void): void {
    this.events.on(event, listener);
  }

  off(event: PeerEvent, listener: (peer: NodePeer) => void): void {
    this.events.removeListener(event, listener);
  }

  send(peer: NodePeer, cmd: string, payload: Uint8Array): void {
    const p = this._peer(peer);
    if (!this.connected.has(p) || !p.back) return;
    const back = p.back;
    const bytes = Buffer.from(payload);
    setImmediate(() => void p.remote._receive(back, cmd, bytes));
  }

  broadcast(cmd: string, payload: Uint8Array, except?: NodePeer): number {
    let sent = 0;
    for (const peer of this.connected) {
      if (peer === except) continue;
      this.send(peer, cmd, payload);
      sent++;
    }
    return sent;
  }

  peers(): NodePeer[] {
    return [...this.connected];
  }

  reachableAddresses(): string[] {
    return this.address ? [this.address] : [];
  }

  async dial(address: string): Promise<void> {
    this.dialled.push(address);
    const remote = MemoryNodeAdapter.byAddress.get(address);
    if (!remote) throw new Error(`nothing listens at ${address}`);
    if ([...this.connected].some((p) => p.remote === remote)) return;
    MemoryNodeAdapter.connect(this, remote);
  }

  /** As a bcoin node knows it: the address of a node we dialled, and none of one that dialled us. */
  listenAddressOf(peer: NodePeer): string | null {
    const p = this._peer(peer);
    return p.outbound && p.remote.address ? canonicalHostPort(p.remote.address) : null;
  }

  /** Peers in one process have no address: each connection is its own group. */
  groupOf(peer: NodePeer): string {
    return `memory:${this._peer(peer).id}`;
  }

  penalize(peer: NodePeer, score: number, reason: string): void {
    const p = this._peer(peer);
    this.logger.info(`penalizing peer ${p.id} by ${score}: ${reason}`);
    p.banScore += score;
    if (p.banScore >= BAN_SCORE) this._disconnect(p);
  }
}
