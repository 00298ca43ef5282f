/**
 * A real dev node with its wallet plugin in the test's own process, on
 * LevelDB in a temporary directory, closed and removed in t's teardown: for
 * tests that reach into bcoin's objects (the mempool, the wallet) directly.
 */
import type { ExecutionContext } from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bcoin } from '../../src/lib/chain/bcoin.js';
import { bcoinType } from '../../src/lib/chain/networks.js';

/** `options` go to bcoin's FullNode over these defaults (for one that listens: `listen`, `host`, `port`). */
export async function inProcessNode(t: ExecutionContext, prefix: string, options: Record<string, unknown> = {}): Promise<any> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const node: any = new bcoin.FullNode({
    network: bcoinType('dev'), prefix: dir, memory: false, workers: false, listen: false,
    httpPort: 0, walletHttpPort: 0, walletPrefix: dir, walletWitness: true,
    logLevel: 'none', logConsole: false, logFile: false, ...options,
  });
  node.use(bcoin.wallet.plugin);
  await node.ensure();
  await node.open();
  t.teardown(() => node.close());
  return node;
}

/** Mines `n` blocks on `node`'s tip paying `to` and adds each to its chain; resolves with the blocks. */
export async function mineBlocks(node: any, to: unknown, n = 1): Promise<any[]> {
  const blocks = [];
  for (let i = 0; i < n; i++) {
    const block = await node.miner.mineBlock(node.chain.tip, to);
    await node.chain.add(block);
    blocks.push(block);
  }
  return blocks;
}
