/**
 * The wallet as a funder of contracts (src/lib/wallet/funding.ts) on a real
 * dev node in this process, its wallet on LevelDB: fundings back to back
 * never share a coin, whenever the wallet indexes the one before.
 */
import test, { type ExecutionContext } from 'ava';
import type { BcoinWallet, BcoinWalletCoin } from '../src/lib/chain/bcoin.js';
import { Coin, MTX, Script, type BTX } from '../src/lib/chain/primitives.js';
import { WalletFunder, type FundingShare } from '../src/lib/wallet/funding.js';
import { inProcessNode, mineBlocks } from './util/bcoin-node.js';
import { waitFor } from './util/devnode.js';

const PASSPHRASE = 'funding test';
/** A contract share: a payment escrow and the renter's part of the fee. */
const AMOUNT = 101_000;
const FEE = 2_000;

interface FundingNode {
  node: any;
  wallet: BcoinWallet & { once(event: 'tx', listener: (tx: BTX) => void): void };
  funder: WalletFunder;
}

/** A dev node with its wallet plugin, a hundred and some blocks mined to the wallet so a few coinbases are mature. */
async function fundingNode(t: ExecutionContext): Promise<FundingNode> {
  const node = await inProcessNode(t, 'cc-wallet-funding-');
  const wdb = node.plugins.walletdb.wdb;
  const wallet = wdb.primary;
  await wallet.setPassphrase(PASSPHRASE);
  await wallet.lock();
  const address = await wallet.receiveAddress();
  await mineBlocks(node, address, 105);
  await waitFor(() => wdb.state.height === node.chain.height, 60_000, 'the wallet following the chain', 20);
  return { node, wallet, funder: new WalletFunder(wallet, () => node.chain.height, PASSPHRASE) };
}

/** A transaction spending exactly the share's coins, signed by the funder, as a funding transaction would. */
async function spend(f: FundingNode, share: FundingShare): Promise<BTX> {
  const mtx = new MTX();
  for (const c of share.coins) {
    mtx.addCoin(Coin.fromOptions({ hash: Buffer.from(c.hash).toString('hex'), index: c.index, value: c.value, script: Script.fromRaw(c.script), height: 1 }));
  }
  mtx.addOutput(Script.fromRaw(share.changeScript), share.changeValue + AMOUNT - FEE);
  await f.funder.sign(mtx, share.coins.map((_, i) => i));
  return mtx.toTX();
}

const outpoints = (share: FundingShare) => share.coins.map((c) => `${Buffer.from(c.hash).toString('hex')}:${c.index}`);

test('a share taken while the wallet indexes the funding before it gets other coins, and its funding enters the mempool', async (t) => {
  const f = await fundingNode(t);
  const first = await f.funder.share(AMOUNT);
  const tx = await spend(f, first);

  // The second share reads the wallet's coins before the first funding reaches the
  // mempool, and goes on only once the wallet has indexed that funding (bcoin drops
  // its coin lock then), as when a funding and the next share overlap under load.
  const indexed = new Promise<void>((resolve) => f.wallet.once('tx', () => resolve()));
  const getCoins = f.wallet.getCoins.bind(f.wallet);
  f.wallet.getCoins = async (): Promise<BcoinWalletCoin[]> => {
    const coins = await getCoins();
    await indexed;
    return coins;
  };
  const taking = f.funder.share(AMOUNT);
  await f.node.sendTX(tx);
  const second = await taking;
  f.wallet.getCoins = getCoins;

  t.deepEqual(outpoints(second).filter((o) => outpoints(first).includes(o)), []);
  const next = await spend(f, second);
  await f.node.sendTX(next);
  t.true(f.node.mempool.hasEntry(next.hash('hex')), 'the second funding is in the mempool');
});

test('a released share\'s coins are handed out again, unless its funding spent them', async (t) => {
  const f = await fundingNode(t);
  const refused = await f.funder.share(AMOUNT);
  f.funder.release(refused);
  const funded = await f.funder.share(AMOUNT);
  t.deepEqual(outpoints(funded), outpoints(refused), 'the largest coin again, once released');

  await f.node.sendTX(await spend(f, funded));
  await waitFor(async () => (await f.wallet.getCoins()).every((c) => !outpoints(funded).includes(`${c.hash}:${c.index}`)), 30_000, 'the wallet indexing the funding', 20);
  f.funder.release(funded);
  const after = await f.funder.share(AMOUNT);
  t.deepEqual(outpoints(after).filter((o) => outpoints(funded).includes(o)), []);
});

test('a payment the wallet is sending and a share taken meanwhile never spend the same coin', async (t) => {
  const f = await fundingNode(t);
  const to = Script.fromAddress(await f.wallet.receiveAddress());
  // A payment of all the mature coins but about one: a share that chose meanwhile from
  // every coin would most likely pick one of the payment's. The payment holds the wallet's
  // fund lock from choosing its coins to indexing its transaction.
  const mature = (await f.wallet.getCoins()).filter((c) => f.node.chain.height + 1 >= c.height + 100);
  const value = mature.reduce((n, c) => n + c.value, 0) - mature[0].value - 1_000_000;
  // The share is asked for once the payment has chosen its coins and is signing.
  const wallet = f.wallet as unknown as { sign(...args: unknown[]): Promise<unknown> };
  const sign = wallet.sign.bind(wallet);
  let signing!: () => void;
  const chosen = new Promise<void>((resolve) => (signing = resolve));
  wallet.sign = (...args) => {
    signing();
    return sign(...args);
  };
  const sending = f.wallet.send({ outputs: [{ script: to, value }] }, PASSPHRASE);
  await chosen;
  const share = await f.funder.share(AMOUNT);
  const paid = await sending;
  const spentByPayment = paid.inputs.map((i) => `${i.prevout.hash}:${i.prevout.index}`);
  t.deepEqual(outpoints(share).filter((o) => spentByPayment.includes(o)), []);
  const funding = await spend(f, share);
  await f.node.sendTX(funding);
  t.true(f.node.mempool.hasEntry(funding.hash('hex')), 'the funding is in the mempool beside the payment');
});
