/**
 * Hands a devnet node that has stopped following the tip the blocks it lacks,
 * over RPC (getblock raw, submitblock). The devnet mines its first hundred
 * blocks in a burst while the nodes are still dialling each other, and a node
 * can be left behind by it: seen in CI, not reproduced on demand, its cause in
 * bcoin not pinned down (not the one-loader rule, which a dev chain, synced
 * from its genesis, never meets: docs/node.md, "The devnet"). Given the
 * blocks, the node follows the others over P2P as any node does.
 */
import type { NodeClient } from '../node/node-client.js';

/** Submits `from`'s blocks above `to`'s height up to `from`'s tip; returns how many `to` took. */
export async function catchUp(from: NodeClient, to: NodeClient): Promise<number> {
  const [top, bottom] = await Promise.all([from.rpc<number>('getblockcount'), to.rpc<number>('getblockcount')]);
  let taken = 0;
  for (let height = bottom + 1; height <= top; height++) {
    const hash = await from.rpc<string>('getblockhash', [height]);
    const raw = await from.rpc<string>('getblock', [hash, false]);
    // submitblock answers null when the block was taken and a reason otherwise.
    if ((await to.rpc<string | null>('submitblock', [raw])) === null) taken++;
  }
  return taken;
}
