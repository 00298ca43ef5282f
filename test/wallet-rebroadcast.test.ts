/**
 * The daemon sending its wallet's unconfirmed transactions again
 * (src/lib/wallet/rebroadcast.ts), on a real dev node in this process: a
 * transaction a reorganisation dropped from the mempool is back after the
 * next block and confirms; one whose input another transaction spent is
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

test('a wallet transaction a reorganisation drops from the mempool is sent again after the next block, and confirms', async (t) => {
  const { node, wallet, mine, walletFollows } = await walletNode(t, 'cc-rebroadcast-');
  const coinbases = new Set((await wallet.getCoins()).filter((c: any) => c.coinbase).map((c: any) => c.hash));
  const tx = await wallet.send({ outputs: [{ script: Script.fromAddress(nobodysAddress()), value: 1_000_000 }] });
  t.true(tx.inputs.every((i: any) => coinbases.has(i.prevout.hash)), 'spends a coinbase');
  const hash = tx.hash('hex');
  await waitFor(() => node.mempool.hasEntry(hash), 30_000, 'the payment in the mempool', 20);
  const fork = node.chain.tip;
  const undone = await mine();
  t.true(undone.txs.some((x: any) => x.hash('hex') === hash), 'mined');
  await walletFollows();

  // A longer branch from before that block, without the payment.
  const side = await mine(fork, nobodysAddress());
  await mine(await node.chain.getEntry(side.hash('hex')), nobodysAddress());
  t.is(node.chain.tip.prevBlock, side.hash('hex'), 'the side branch is the chain');
  t.false(node.mempool.hasEntry(hash), 'bcoin dropped it from the mempool: it spends a coinbase');
  t.is(node.mempool.map.size, 0);

  startRebroadcast(t, node);
  await mine(node.chain.tip, nobodysAddress());
  await waitFor(() => node.mempool.hasEntry(hash), 60_000, 'the payment back in the mempool', 20);
  const next = await mine(node.chain.tip, nobodysAddress());
  t.true(next.txs.some((x: any) => x.hash('hex') === hash), 'confirmed on the new branch');
  t.false(node.mempool.hasEntry(hash));
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
