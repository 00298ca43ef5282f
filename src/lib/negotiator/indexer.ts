/**
 * Keeps the contract registry on the node's main chain. Whatever happened —
 * a new block, a reorganisation, a restart after blocks arrived while the
 * node was down, a registry tip orphaned while it was down — one loop brings
 * the registry to the chain: it disconnects registry blocks that are no
 * longer on the main chain (newest first), then connects main-chain blocks
 * from the registry tip to the chain tip. Chain events only wake the loop.
 */
import type { BBlock } from '../chain/primitives.js';
import { CoalescedRounds } from '../coalesced-rounds.js';
import type { Registry } from './registry.js';

/** What the indexer needs of bcoin's Chain. */
export interface IndexedChain {
  height: number;
  on(event: 'connect' | 'disconnect', listener: (...args: unknown[]) => void): unknown;
  removeListener(event: 'connect' | 'disconnect', listener: (...args: unknown[]) => void): unknown;
  getEntryByHeight(height: number): Promise<{ hash: string | Buffer } | null>;
  getEntryByHash(hash: string | Buffer): Promise<unknown>;
  isMainChain(entry: unknown): Promise<boolean>;
  getBlock(hash: string | Buffer): Promise<BBlock | null>;
}

export class ChainIndexer {
  private readonly rounds = new CoalescedRounds(() => this._step());

  constructor(
    private readonly chain: IndexedChain,
    private readonly registry: Registry,
    private readonly log: (message: string) => void = () => {},
  ) {}

  /** Catches up, then follows the chain's connect and disconnect events. */
  async open(): Promise<void> {
    this.rounds.wakeOn(this.chain, ['connect', 'disconnect'], { onError: (err) => this.log(`registry sync failed: ${err.message}`) });
    await this.sync();
  }

  close(): Promise<void> {
    return this.rounds.close();
  }

  /** Resolves once the registry has reached the chain tip seen when it was called (or later). */
  sync(): Promise<void> {
    return this.rounds.run();
  }

  private async _onMain(hash: Buffer): Promise<boolean> {
    const entry = await this.chain.getEntryByHash(hash.toString('hex'));
    return entry ? this.chain.isMainChain(entry) : false;
  }

  private async _step(): Promise<void> {
    // Unwind what the main chain no longer holds.
    for (let tip = this.registry.getTip(); tip && !this.rounds.closed && !(await this._onMain(tip.hash)); tip = this.registry.getTip()) {
      const block = await this.chain.getBlock(tip.hash.toString('hex'));
      if (!block) throw new Error(`registry tip ${tip.hash.toString('hex')} at ${tip.height}: block not in the block store; reindex`);
      await this.registry.disconnectBlock(block, tip.height);
    }
    // Then follow the main chain up to its tip.
    while (!this.rounds.closed) {
      const tip = this.registry.getTip();
      const next = tip ? tip.height + 1 : 0;
      if (next > this.chain.height) break;
      const entry = await this.chain.getEntryByHeight(next);
      if (!entry) break;
      const block = await this.chain.getBlock(entry.hash);
      if (!block) throw new Error(`block at ${next} not in the block store`);
      if (tip && block.prevBlock !== tip.hash.toString('hex')) {
        this.rounds.requestAgain(); // the chain moved under us: unwind first
        break;
      }
      await this.registry.connectBlock(block, next);
    }
  }
}
