/**
 * A reorganisation on a real dev node in this process: a transaction of the
 * block it undoes goes back to the mempool even when the mempool was empty
 * (src/lib/chain/mempool-reorg.ts; bcoin 1.0.2 alone drops it).
 */
import test from 'ava';
import { keepReorgedTransactions } from '../src/lib/chain/mempool-reorg.js';
import { Script } from '../src/lib/chain/primitives.js';
import { inProcessNode } from './util/bcoin-node.js';
import { nobodysAddress } from './util/devnet.js';
import { waitFor } from './util/devnode.js';

test('a transaction of a block a reorganisation undoes is back in an empty mempool, and confirms on the new branch', async (t) => {
  const node = await inProcessNode(t, 'cc-reorg-');
  keepReorgedTransactions(node.mempool);
  const wdb = node.plugins.walletdb.wdb;
  const address = await wdb.primary.receiveAddress();
  const mine = async (on: unknown, to: unknown = address) => node.chain.add(await node.miner.mineBlock(on, to));
  for (let i = 0; i < 101; i++) await mine(node.chain.tip);
  await waitFor(() => wdb.state.height === node.chain.height, 60_000, 'the wallet following the chain', 20);

  // bcoin drops a transaction spending a coinbase from the mempool on any reorganisation
  // (Core only one whose coinbase became immature): the payment spends a coin of its own.
  const wallet = wdb.primary;
  const own = await wallet.send({ outputs: [{ script: Script.fromAddress(address), value: 10_000_000 }] });
  await waitFor(() => node.mempool.hasEntry(own.hash('hex')), 30_000, 'the first payment in the mempool', 20);
  await mine(node.chain.tip);
  await waitFor(() => wdb.state.height === node.chain.height, 60_000, 'the wallet following the chain', 20);
  for (const c of await wallet.getCoins()) if (c.coinbase) wallet.lockCoin(c);
  const tx = await wallet.send({ outputs: [{ script: Script.fromAddress(nobodysAddress()), value: 1_000_000 }] });
  t.true(tx.inputs.every((i: any) => i.prevout.hash === own.hash('hex')), 'spends the first payment\'s outputs');
  const hash = tx.hash('hex');
  await waitFor(() => node.mempool.hasEntry(hash), 30_000, 'the payment in the mempool', 20);
  const fork = node.chain.tip;
  await mine(node.chain.tip);
  t.is(node.mempool.map.size, 0, 'confirmed: the mempool is empty');

  // A longer branch from before that block, without the transaction.
  const side = await node.miner.mineBlock(fork, nobodysAddress());
  await node.chain.add(side);
  await node.chain.add(await node.miner.mineBlock(await node.chain.getEntry(side.hash('hex')), nobodysAddress()));
  t.is(node.chain.tip.prevBlock, side.hash('hex'), 'the side branch is the chain');
  t.true(node.mempool.hasEntry(hash), 'back in the mempool after the reorganisation');
  const next = await node.miner.mineBlock(node.chain.tip, nobodysAddress());
  await node.chain.add(next);
  t.true(next.txs.some((x: any) => x.hash('hex') === hash), 'confirmed on the new branch');
  t.false(node.mempool.hasEntry(hash));
});
