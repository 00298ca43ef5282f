/**
 * The daemon sending its wallet's unconfirmed transactions again
 * (src/lib/wallet/rebroadcast.ts), on a real dev node in this process:
 * transactions a reorganisation dropped from the mempool are back after the
 * next block and confirm; one whose input another transaction spent is
 * logged once and not tried again.
 */
import test from 'ava';
import { bcoin } from '../src/lib/chain/bcoin.js';
import { keepReorgedTransactions } from '../src/lib/chain/mempool-reorg.js';
import { getNetwork } from '../src/lib/chain/networks.js';
import { Script } from '../src/lib/chain/primitives.js';
import { WalletRebroadcast } from '../src/lib/wallet/rebroadcast.js';
import { inProcessNode } from './util/bcoin-node.js';
import { nobodysAddress } from './util/devnet.js';
import { waitFor } from './util/devnode.js';

/** A node set up as the daemon's, its wallet holding `count` blocks' coinbases, the first `count - 100` of them mature. */
async function walletNode(t: any, prefix: string, firstTo?: string) {
  const node = await inProcessNode(t, prefix);
  keepReorgedTransactions(node.mempool);
  const wdb = node.plugins.walletdb.wdb;
  const address = await wdb.primary.receiveAddress();
  const mine = async (on: unknown = node.chain.tip, to: unknown = address) => {
    const block = await node.miner.mineBlock(on, to);
    await node.chain.add(block);
    return block;
  };
  const first = await mine(node.chain.tip, firstTo ?? address);
  for (let i = 0; i < 100; i++) await mine();
  const walletFollows = () => waitFor(() => wdb.state.height === node.chain.height, 60_000, 'the wallet following the chain', 20);
  await walletFollows();
  return { node, wdb, wallet: wdb.primary, mine, walletFollows, first };
}

/** Starts the node's rebroadcast, stopped in t's teardown; its warnings are kept in `warnings` as well as logged. */
function startRebroadcast(t: any, node: any): { rebroadcast: WalletRebroadcast; warnings: string[] } {
  const warnings: string[] = [];
  const warning = node.logger.warning.bind(node.logger);
  node.logger.warning = (...args: unknown[]) => {
    warnings.push(String(args[0]));
    return warning(...args);
  };
  const rebroadcast = WalletRebroadcast.start(node);
  t.teardown(() => rebroadcast.close());
  return { rebroadcast, warnings };
}

test('wallet transactions a reorganisation drops from the mempool are sent again after the next block, a parent and its child, and confirm', async (t) => {
  const { node, wallet, mine, walletFollows } = await walletNode(t, 'cc-rebroadcast-');
  const coinbases = await wallet.getCoins();
  const pay = () => wallet.send({ outputs: [{ script: Script.fromAddress(nobodysAddress()), value: 1_000_000 }] });
  const parent = await pay();
  const cbHashes = new Set(coinbases.map((c: any) => c.hash));
  t.true(parent.inputs.every((i: any) => cbHashes.has(i.prevout.hash)), 'the first spends a coinbase');
  for (const c of coinbases) wallet.lockCoin(c);
  const child = await pay();
  t.true(child.inputs.every((i: any) => i.prevout.hash === parent.hash('hex')), 'the second spends the first\'s change');
  const hashes = [parent.hash('hex'), child.hash('hex')];
  const inMempool = () => hashes.every((h) => node.mempool.hasEntry(h));
  await waitFor(inMempool, 30_000, 'both payments in the mempool', 20);
  const fork = node.chain.tip;
  const undone = await mine();
  t.deepEqual(undone.txs.slice(1).map((x: any) => x.hash('hex')).sort(), [...hashes].sort(), 'mined');
  await walletFollows();

  // A longer branch from before that block, without the payments.
  const side = await mine(fork, nobodysAddress());
  await mine(await node.chain.getEntry(side.hash('hex')), nobodysAddress());
  t.is(node.chain.tip.prevBlock, side.hash('hex'), 'the side branch is the chain');
  t.is(node.mempool.map.size, 0, 'bcoin dropped both from the mempool: the first spends a coinbase');

  const { warnings } = startRebroadcast(t, node);
  await mine(node.chain.tip, nobodysAddress());
  await waitFor(inMempool, 60_000, 'both payments back in the mempool', 20);
  t.deepEqual(warnings, [], 'neither taken for refused: the child waits for its parent');
  const next = await mine(node.chain.tip, nobodysAddress());
  t.deepEqual(next.txs.slice(1).map((x: any) => x.hash('hex')).sort(), [...hashes].sort(), 'confirmed on the new branch');
  t.is(node.mempool.map.size, 0);
});

test('a wallet transaction whose input another transaction spent is logged once and not sent again', async (t) => {
  // An outside key's mature coinbase, spent twice: to this wallet (only the wallet hears of it) and to nobody (mined).
  const network = getNetwork('dev');
  const outsider = bcoin.KeyRing.generate(true);
  outsider.witness = true;
  const { node, wdb, mine, walletFollows, first } = await walletNode(t, 'cc-rebroadcast-spent-', outsider.getAddress('string', network));
  const coin = bcoin.Coin.fromTX(first.txs[0], 0, 1);
  const spend = (to: unknown) => {
    const mtx = new bcoin.MTX();
    mtx.addCoin(coin);
    mtx.addOutput(Script.fromAddress(to), coin.value - 10_000);
    mtx.sign(outsider);
    return mtx.toTX();
  };
  const elsewhere = spend(nobodysAddress());
  await node.mempool.addTX(elsewhere);
  await mine();
  await walletFollows();
  const lost = spend(await wdb.primary.receiveAddress());
  const hash = lost.hash('hex');
  await wdb.addTX(lost);
  t.is((await wdb.primary.getPending()).length, 1, 'pending to the wallet');

  const tries: string[] = [];
  const addTX = node.mempool.addTX.bind(node.mempool);
  node.mempool.addTX = (tx: any, id?: number) => {
    tries.push(tx.hash('hex'));
    return addTX(tx, id);
  };
  const { rebroadcast, warnings } = startRebroadcast(t, node);
  await mine();
  await waitFor(() => tries.includes(hash), 60_000, 'the rebroadcast trying it', 20);
  for (let i = 0; i < 3; i++) {
    await mine();
    await rebroadcast.round();
  }
  t.deepEqual(tries.filter((h) => h === hash), [hash], 'tried once');
  t.false(node.mempool.hasEntry(hash));
  const said = warnings.filter((w) => w.includes(lost.txid()));
  t.is(said.length, 1, 'logged once');
  t.regex(said[0], /not sent again: .*spent or gone/);
});
