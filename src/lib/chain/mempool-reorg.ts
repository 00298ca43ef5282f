/**
 * A fourth fix to bcoin 1.0.2 (docs/node.md): when a reorganisation
 * disconnects a block, bcoin's mempool puts the block's transactions back,
 * unless the mempool is empty at that moment, when it returns at once and
 * they are gone. On a quiet chain it usually is, and a contract's funding
 * undone by a reorganisation would then never confirm, nor would anything
 * send it again. Here an empty mempool takes them back as a busy one does.
 */
import type { BTX } from './primitives.js';

/** The members of bcoin's Mempool (lib/mempool/mempool.js) its _removeBlock uses. */
interface ReorgMempool {
  map: Map<unknown, unknown>;
  tip: unknown;
  rejects: { reset(): void };
  cache: { sync(tip: unknown): void; flush(): Promise<void> };
  hasEntry(hash: string): boolean;
  insertTX(tx: BTX, id: number): Promise<unknown>;
  emit(event: string, ...args: unknown[]): boolean;
  _removeBlock(block: { prevBlock: unknown }, txs: BTX[]): Promise<void>;
}

export function keepReorgedTransactions(mempool: ReorgMempool): void {
  const removeBlock = mempool._removeBlock.bind(mempool);
  mempool._removeBlock = async (block, txs) => {
    if (mempool.map.size > 0) return removeBlock(block, txs);
    // bcoin's own loop, which it skips on an empty mempool; the coinbase (txs[0]) cannot come back.
    for (const tx of txs.slice(1)) {
      if (mempool.hasEntry(tx.hash('hex'))) continue;
      try {
        await mempool.insertTX(tx, -1);
      } catch (err) {
        mempool.emit('error', err);
        continue;
      }
      mempool.emit('unconfirmed', tx, block);
    }
    mempool.rejects.reset();
    mempool.cache.sync(block.prevBlock);
    await mempool.cache.flush();
    mempool.tip = block.prevBlock;
  };
}
