/**
 * Chain validation on libsecp256k1 beside the pure-JS path bcoin had before,
 * both measured in this run: the same 1,000-transaction blocks validated from
 * scratch by a node on each path, and by a native node whose mempool already
 * checked the transactions (the signature cache answers), then wallet sends
 * on each path. One builder node mines; three validators on CloudCoin's dev
 * network with on-disk LevelDB take the same blocks.
 *
 * The path is switched in-process (useSecpBackend), and the signature cache
 * is emptied and turned off for the pure-JS figures: the cache is one per
 * process, so the builder's entries must not answer a validator's checks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bcoin } from '../src/lib/chain/bcoin.js';
import { nativeSecpAvailable, useSecpBackend, type SecpBackendName } from '../src/lib/chain/native-secp.js';
import { SIGNATURE_CACHE_ENTRIES, signatureCache } from '../src/lib/chain/sigcache.js';
import { opsPerSecond, type BenchSuite, type Figure } from './harness.js';
import { makeNode } from './node.js';

const secp = createRequire(createRequire(import.meta.url).resolve('bcoin'))('bcrypto/lib/secp256k1');
const BLOCK_TXS = 1000;
const ROUNDS = 2;
const SENDS = 100;

/** Pure JS without the cache, as bcoin ran before; or libsecp256k1 with it. */
function usePath(name: SecpBackendName): void {
  useSecpBackend(name);
  signatureCache.clear();
  signatureCache.capacity = name === 'js' ? 0 : SIGNATURE_CACHE_ENTRIES;
}

function signed(ring: any, coins: any[], outputs: number): any {
  const mtx = new bcoin.MTX();
  for (const coin of coins) mtx.addCoin(coin);
  const total = coins.reduce((sum, c) => sum + c.value, 0);
  // 50 bytes an output at the 1,000 units/kB relay floor, with room to spare.
  const each = Math.floor((total - 10_000 - outputs * 100) / outputs);
  for (let i = 0; i < outputs; i++) mtx.addOutput(ring.getAddress(), each);
  mtx.sign(ring);
  return mtx.toTX();
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export const chainBench: BenchSuite = {
  name: 'chain: validation, libsecp256k1 vs pure JS',
  async run(): Promise<Figure[]> {
    if (!nativeSecpAvailable) throw new Error('the libsecp256k1 binding did not load (or CLOUDCOIN_SECP=js): nothing to compare');
    const dir = mkdtempSync(join(tmpdir(), 'cc-bench-chain-'));
    const builder = makeNode(join(dir, 'builder'), true);
    const validators = { js: makeNode(join(dir, 'js'), false), native: makeNode(join(dir, 'native'), false), cached: makeNode(join(dir, 'cached'), false) };
    const all = [builder, ...Object.values(validators)];
    const ms = { js: 0, native: 0, cached: 0 };
    let hits = 0;
    try {
      for (const node of all) { await node.ensure(); await node.open(); }
      usePath('libsecp256k1');
      const ring = bcoin.KeyRing.generate();
      ring.witness = true;
      const addr = ring.getAddress();
      const mine = async (txs: any[] = [], address = addr): Promise<any> => {
        const job = await builder.miner.createJob(builder.chain.tip, address);
        for (const tx of txs) job.pushTX(tx, await builder.chain.getCoinView(tx));
        job.refresh();
        const block = await job.mineAsync();
        await builder.chain.add(block);
        return block;
      };
      const funding = [];
      for (let i = 0; i < 100 + ROUNDS; i++) {
        const block = await mine();
        for (const v of Object.values(validators)) await v.chain.add(block);
        funding.push(block);
      }

      for (let r = 0; r < ROUNDS; r++) {
        usePath('libsecp256k1');
        const fan = signed(ring, [bcoin.Coin.fromTX(funding[r].txs[0], 0, r + 1)], BLOCK_TXS - 1);
        const fanBlock = await mine([fan]);
        for (const v of Object.values(validators)) await v.chain.add(fanBlock);
        const fanHeight = builder.chain.height;
        const spends = Array.from({ length: BLOCK_TXS - 1 }, (_, i) => signed(ring, [bcoin.Coin.fromTX(fan, i, fanHeight)], 1));
        // Built straight, not through the builder's mempool, so no cache entry is made for them.
        const block = await mine(spends);
        if (block.txs.length !== BLOCK_TXS) throw new Error(`block carries ${block.txs.length} transactions, expected ${BLOCK_TXS}`);
        const copy = () => bcoin.Block.fromRaw(block.toRaw());
        usePath('js');
        ms.js += await timed(() => validators.js.chain.add(copy()));
        usePath('libsecp256k1');
        ms.native += await timed(() => validators.native.chain.add(copy()));
        for (const tx of spends) await validators.cached.mempool.addTX(bcoin.TX.fromRaw(tx.toRaw()));
        const hitsBefore = signatureCache.hits;
        ms.cached += await timed(() => validators.cached.chain.add(copy()));
        hits += signatureCache.hits - hitsBefore;
      }

      const wallet = builder.plugins.walletdb.wdb.primary;
      const walletAddr = await wallet.receiveAddress();
      for (let i = 0; i < 4; i++) await mine([], walletAddr);
      for (let i = 0; i < 100; i++) await mine();
      const wdb = builder.plugins.walletdb.wdb;
      await waitFor(() => wdb.state.height === builder.chain.height);
      const target = bcoin.KeyRing.generate().getAddress();
      const sendRate = async (name: SecpBackendName) => {
        usePath(name);
        const t = await timed(async () => {
          for (let i = 0; i < SENDS; i++) await wallet.send({ outputs: [{ address: target, value: 10_000 }] });
        });
        return (SENDS * 1000) / t;
      };
      const sendsJs = await sendRate('js');
      const sendsNative = await sendRate('libsecp256k1');

      const checkRate = (name: SecpBackendName) => {
        usePath(name);
        const key = secp.generatePrivateKey();
        const msg = Buffer.alloc(32, 1);
        const sig = secp.signDER(msg, key);
        const pub = secp.publicKeyCreate(key, true);
        return opsPerSecond(() => { secp.verifyDER(msg, sig, pub); }, 500);
      };
      const checksJs = await checkRate('js');
      const checksNative = await checkRate('libsecp256k1');

      const perSec = (total: number) => (ROUNDS * 1000) / total;
      const jsRef = { name: 'pure JS, same blocks', value: perSec(ms.js), unit: 'blocks/s' };
      return [
        { name: `blocks validated/s, ${BLOCK_TXS} tx, libsecp256k1`, value: perSec(ms.native), unit: 'blocks/s', reference: jsRef },
        { name: `blocks validated/s, ${BLOCK_TXS} tx, seen in mempool (cache)`, value: perSec(ms.cached), unit: 'blocks/s', reference: jsRef },
        { name: 'signature cache hits in those blocks', value: hits, unit: 'hits', reference: { name: 'signatures', value: ROUNDS * (BLOCK_TXS - 1), unit: 'sigs' } },
        { name: 'wallet sends/s, libsecp256k1', value: sendsNative, unit: 'sends/s', reference: { name: 'pure JS', value: sendsJs, unit: 'sends/s' } },
        { name: 'script signature checks/s, libsecp256k1', value: checksNative, unit: 'checks/s', reference: { name: 'pure JS', value: checksJs, unit: 'checks/s' } },
      ];
    } finally {
      usePath('libsecp256k1');
      for (const node of all) await node.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

async function waitFor(cond: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for the wallet');
    await new Promise((r) => setTimeout(r, 50));
  }
}
