/**
 * The daemon's figures: dev blocks mined and validated per second with 1, 100
 * and 1,000 transactions each, wallet sends per second, and resident memory.
 * Two in-process bcoin nodes on CloudCoin's dev network with on-disk LevelDB:
 * one mines (template, proof of work, connect), the other validates the same
 * blocks from scratch. References come from the same run: an empty block's
 * rate beside each block size, raw transaction signing beside wallet sends,
 * and the bare process's memory beside the node's.
 */
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bcoin } from '../src/lib/chain/bcoin.js';
import { bcoinType } from '../src/lib/chain/networks.js';
import { mineBlocks } from '../test/util/bcoin-node.js';
import { rssMiB, type BenchSuite, type Figure } from './harness.js';

const FEE = 2000;

/** A dev-network node in `dir` with no network and no logs; with its wallet plugin if `wallet` (shared with bench/chain.ts). */
export function makeNode(dir: string, wallet: boolean): any {
  mkdirSync(join(dir, 'wallet'), { recursive: true });
  const node = new bcoin.FullNode({
    network: bcoinType('dev'), prefix: dir, memory: false, workers: false, listen: false,
    httpPort: 0, walletHttpPort: 0, walletPrefix: dir, logLevel: 'none', logConsole: false, logFile: false,
  });
  if (wallet) node.use(bcoin.wallet.plugin);
  return node;
}

/** Splits one coin into `count` outputs to `ring`, so later blocks can carry `count` independent transactions. */
function fanOut(ring: any, coin: any, count: number): any {
  const mtx = new bcoin.MTX();
  mtx.addCoin(coin);
  // 50 bytes an output at the 1,000 units/kB relay floor, with room to spare.
  const each = Math.floor((coin.value - 10_000 - count * 100) / count);
  for (let i = 0; i < count; i++) mtx.addOutput(ring.getAddress(), each);
  mtx.sign(ring);
  return mtx.toTX();
}

function spendTx(ring: any, coin: any): any {
  const mtx = new bcoin.MTX();
  mtx.addCoin(coin);
  mtx.addOutput(ring.getAddress(), coin.value - FEE);
  mtx.sign(ring);
  return mtx.toTX();
}

export const nodeBench: BenchSuite = {
  name: 'node: blocks, wallet sends, memory',
  async run(): Promise<Figure[]> {
    const baseline = rssMiB();
    const dir = mkdtempSync(join(tmpdir(), 'cc-bench-node-'));
    const miner = makeNode(join(dir, 'miner'), true);
    const validator = makeNode(join(dir, 'validator'), false);
    const figures: Figure[] = [];
    try {
      await miner.ensure(); await miner.open();
      await validator.ensure(); await validator.open();
      const ring = bcoin.KeyRing.generate();
      ring.witness = true;
      const addr = ring.getAddress();
      const funding = await mineBlocks(miner, addr, 110);
      for (const b of funding) await validator.chain.add(b);

      const sizes = [1, 100, 1000];
      let coinbaseIndex = 1;
      let emptyMine = 0;
      let emptyValidate = 0;
      for (const size of sizes) {
        const rounds = 3;
        let mineMs = 0;
        let validateMs = 0;
        for (let r = 0; r < rounds; r++) {
          if (size > 1) {
            const cb = funding[coinbaseIndex++].txs[0];
            const fan = fanOut(ring, bcoin.Coin.fromTX(cb, 0, -1), size - 1);
            await miner.mempool.addTX(fan);
            const [fanBlock] = await mineBlocks(miner, addr);
            await validator.chain.add(fanBlock);
            for (let i = 0; i < size - 1; i++) {
              await miner.mempool.addTX(spendTx(ring, bcoin.Coin.fromTX(fan, i, fanBlock.height ?? -1)));
            }
          }
          let t0 = performance.now();
          const [block] = await mineBlocks(miner, addr);
          mineMs += performance.now() - t0;
          if (block.txs.length !== size) throw new Error(`block carries ${block.txs.length} transactions, expected ${size}`);
          t0 = performance.now();
          await validator.chain.add(block);
          validateMs += performance.now() - t0;
        }
        const minePerSec = (rounds * 1000) / mineMs;
        const validatePerSec = (rounds * 1000) / validateMs;
        if (size === 1) { emptyMine = minePerSec; emptyValidate = validatePerSec; }
        const ref = (v: number) => ({ name: 'coinbase-only block', value: v, unit: 'blocks/s' });
        figures.push({ name: `blocks mined/s, ${size} tx each`, value: minePerSec, unit: 'blocks/s', reference: size > 1 ? ref(emptyMine) : undefined });
        figures.push({ name: `blocks validated/s, ${size} tx each`, value: validatePerSec, unit: 'blocks/s', reference: size > 1 ? ref(emptyValidate) : undefined });
      }

      const wallet = miner.plugins.walletdb.wdb.primary;
      const walletAddr = await wallet.receiveAddress();
      await mineBlocks(miner, walletAddr, 3);
      await mineBlocks(miner, addr, 100);
      await new Promise((r) => setTimeout(r, 500));
      const target = bcoin.KeyRing.generate().getAddress();
      const sends = 200;
      let t0 = performance.now();
      for (let i = 0; i < sends; i++) await wallet.send({ outputs: [{ address: target, value: 10_000 }] });
      const sendsPerSec = (sends * 1000) / (performance.now() - t0);
      const coin = bcoin.Coin.fromTX(funding[coinbaseIndex].txs[0], 0, -1);
      t0 = performance.now();
      for (let i = 0; i < sends; i++) spendTx(ring, coin);
      const signPerSec = (sends * 1000) / (performance.now() - t0);
      figures.push({ name: 'wallet sends/s (select, sign, mempool)', value: sendsPerSec, unit: 'sends/s', reference: { name: 'raw tx build+sign', value: signPerSec, unit: 'tx/s' } });
      figures.push({ name: 'resident memory, two nodes + wallet', value: rssMiB(), unit: 'MiB', reference: { name: 'bare bench process', value: baseline, unit: 'MiB' } });
    } finally {
      await miner.close().catch(() => {});
      await validator.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    }
    return figures;
  },
};
