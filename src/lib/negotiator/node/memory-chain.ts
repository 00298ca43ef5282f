/**
 * A chain held in memory for MemoryNodeAdapters: blocks a caller mines with
 * the transactions it chooses, no proof of work and no script checks, and
 * the 'connect' event bcoin's Chain emits for each. Several adapters may
 * share one, as nodes of one network share the chain: each indexes the same
 * blocks into its own registry.
 */
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { MTX, Script, type BBlock, type BTX } from '../../chain/primitives.js';
import type { IndexedChain } from '../indexer.js';

const require = createRequire(import.meta.url);
const Block = require('bcoin/lib/primitives/block.js');

interface MemoryEntry {
  hash: string;
  height: number;
}

export class MemoryChain extends EventEmitter implements IndexedChain {
  private readonly blocks: BBlock[] = [];
  private readonly heights = new Map<string, number>();

  /**
   * The tip's height; 0 while the chain holds no block. A caller may set it
   * to stand at a height with no blocks mined (what ChainActions' checks
   * read); the next block mined puts it back at the last block.
   */
  height = 0;

  /** Appends a block holding a coinbase and `txs` (a genesis block first if the chain is empty); its height. */
  mine(txs: BTX[] = []): number {
    const prev = this.blocks.at(-1);
    const height = this.blocks.length;
    const coinbase = new MTX();
    // The height in the coinbase script keeps two blocks with the same transactions (and time) apart.
    coinbase.addInput({ prevout: { hash: '00'.repeat(32), index: 0xffffffff }, script: Script.fromRaw(Buffer.from(`h${height}`)) });
    coinbase.addOutput(Script.fromRaw(Buffer.from([0x51])), 50e8);
    const block = new Block({ version: 1, prevBlock: prev ? prev.hash('hex') : '00'.repeat(32), merkleRoot: '00'.repeat(32), time: Math.floor(Date.now() / 1000), bits: 0x207fffff, nonce: 0 });
    block.txs.push(coinbase.toTX(), ...txs);
    block.merkleRoot = block.createMerkleRoot('hex');
    block.refresh();
    this.blocks.push(block);
    this.heights.set(block.hash('hex'), height);
    this.height = height;
    this.emit('connect', { hash: block.hash('hex'), height }, block);
    return height;
  }

  /** Unix time of the tip block; now while the chain holds none. */
  tipTime(): number {
    const tip = this.blocks.at(-1) as (BBlock & { time: number }) | undefined;
    return tip ? tip.time : Math.floor(Date.now() / 1000);
  }

  /** Mines `n` empty blocks; the new height. */
  mineEmpty(n: number): number {
    for (let i = 0; i < n; i++) this.mine();
    return this.height;
  }

  async getEntryByHeight(height: number): Promise<MemoryEntry | null> {
    const block = this.blocks[height];
    return block ? { hash: block.hash('hex'), height } : null;
  }

  async getEntryByHash(hash: string | Buffer): Promise<MemoryEntry | null> {
    const hex = typeof hash === 'string' ? hash : hash.toString('hex');
    const height = this.heights.get(hex);
    return height === undefined ? null : { hash: hex, height };
  }

  async isMainChain(entry: unknown): Promise<boolean> {
    return entry !== null && this.heights.has((entry as MemoryEntry).hash);
  }

  async getBlock(hash: string | Buffer): Promise<BBlock | null> {
    const height = this.heights.get(typeof hash === 'string' ? hash : hash.toString('hex'));
    return height === undefined ? null : this.blocks[height];
  }
}
