import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MONTH_BLOCKS, collateralOf, paymentOf } from '../src/lib/net/terms.js';
import type { BTX } from '../src/lib/chain/primitives.js';
import type { ContractRecord } from '../src/lib/negotiator/records.js';
import { Registry } from '../src/lib/negotiator/registry.js';
import {
  PRIOR_SCORE, PRIOR_WEIGHT, ratingWeight, reputationFromRegistry, reputationOf, type Reputation,
} from '../src/lib/negotiator/reputation.js';
import { buildSettlement, completeSettlement, signSettlement } from '../src/lib/negotiator/settlement.js';
import { TestChain, closeTx, contractOf, fundingOf, party, rate, ratingTx, termsOf } from './negotiator-fixtures.js';

const renter = party();
const host = party();

test('no ratings: the neutral prior', (t) => {
  t.deepEqual(reputationOf([]), { score: PRIOR_SCORE, count: 0, weight: 0, fulfilment: { windows: 0, proven: 0, ratio: null } });
});

test('weight is coins locked times months locked', (t) => {
  const terms = termsOf(renter, host, { duration: 2 * MONTH_BLOCKS });
  t.is(ratingWeight(terms, 2 * MONTH_BLOCKS), (paymentOf(terms) + collateralOf(terms)) * 2);
});

test('a big long contract outweighs many tiny short ones', (t) => {
  const big = termsOf(renter, host, { size: 1024 ** 4, duration: 12 * MONTH_BLOCKS });
  const tiny = termsOf(renter, host, { size: 1024 ** 3, duration: 144 });
  const rep = reputationOf([{ score: 5, terms: big, lockedBlocks: big.duration }, ...Array.from({ length: 50 }, () => ({ score: 1, terms: tiny, lockedBlocks: tiny.duration }))]);
  t.true(rep.score > 4.9, `score ${rep.score}`);
  t.is(rep.count, 51);
});

test('little rated business stays near the prior', (t) => {
  const tiny = termsOf(renter, host, { size: 1024 ** 3, duration: 144, price: 1000, collateral: 1000 });
  const rep = reputationOf([{ score: 5, terms: tiny, lockedBlocks: tiny.duration }]);
  t.true(rep.weight < PRIOR_WEIGHT);
  t.true(rep.score < 3.01, `score ${rep.score}`);
});

test('computed from the registry: two nodes indexing the same blocks agree', async (t) => {
  const chain = new TestChain();
  const renters = [party(), party(), party(), party()];
  // Ratings count from the contracts' end and weigh by the blocks their coins stayed locked: contract i runs
  // 5(i + 1) blocks from height 0 and is funded 5(i + 1) blocks before the ratings at 21; prices high enough
  // for such short contracts to outweigh the prior.
  const locked = (i: number) => 5 * (i + 1);
  const records = renters.map((r, i) => contractOf(r, host, { startHeight: 0, duration: locked(i), size: 1024 ** 4, price: 1e11, collateral: 2e11 }));
  for (let h = 0; h < 21; h++) chain.add(records.flatMap((c, i) => (21 - locked(i) === h ? [fundingOf(c, renters[i], host).toTX()] : [])));
  chain.add(records.map((c, i) => ratingTx(rate(c, renters[i], i + 2))));
  const dirs = [mkdtempSync(join(tmpdir(), 'cc-rep-')), mkdtempSync(join(tmpdir(), 'cc-rep-'))];
  const reps = [];
  for (const dir of dirs) {
    const reg = Registry.at(dir);
    await reg.open();
    for (const [h, b] of chain.blocks.entries()) await reg.connectBlock(b, h);
    reps.push(await reputationFromRegistry(reg, host.id.publicKey));
    await reg.close();
    rmSync(dir, { recursive: true, force: true });
  }
  t.deepEqual(reps[0], reps[1]);
  t.is(reps[0].count, 4);
  // The registry returns ratings by contract id; the formula on the same set agrees.
  const expected = reputationOf(records.map((c, i) => ({ score: i + 2, terms: c.terms, lockedBlocks: locked(i) })));
  t.true(Math.abs(reps[0].score - expected.score) < 1e-12);
  t.true(reps[0].score > 4, 'the longest contracts carry the best scores');
});

async function reputationAt(chain: TestChain, key: Uint8Array): Promise<Reputation> {
  const dir = mkdtempSync(join(tmpdir(), 'cc-rep-'));
  const reg = Registry.at(dir);
  await reg.open();
  try {
    for (const [h, b] of chain.blocks.entries()) await reg.connectBlock(b, h);
    return await reputationFromRegistry(reg, key);
  } finally {
    await reg.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a contract counts only once it has ended, and weighs the blocks its coins stayed locked', async (t) => {
  const r = party();
  const h = party();
  const c = contractOf(r, h, { startHeight: 0, duration: 4, size: 1024 ** 4, price: 1e11, collateral: 2e11 });
  const f = fundingOf(c, r, h).toTX();
  const chain = new TestChain();
  chain.add([f]);
  chain.add();
  t.is((await reputationAt(chain, h.id.publicKey)).count, 0, 'not ended');
  chain.add([closeTx(f, c, r, h)]); // both escrow outputs spent at height 2
  chain.add();
  chain.add([ratingTx(rate(c, r, 5))]);
  const rep = await reputationAt(chain, h.id.publicKey);
  t.is(rep.count, 1);
  t.is(rep.weight, ratingWeight(c.terms, 2), 'locked from its funding at 0 to its spend at 2, not its 4 blocks of terms');
});

test('fulfilment: windows proven in the host\'s PAY-settled contracts, the ratio weighted', async (t) => {
  const r = party();
  const h = party();
  const terms = { startHeight: 0, duration: 2, size: 1024 ** 4 };
  const [a, b, c] = [contractOf(r, h, terms), contractOf(r, h, { ...terms, size: 3 * 1024 ** 4 }), contractOf(r, h, terms)];
  const [fa, fb, fc] = [fundingOf(a, r, h).toTX(), fundingOf(b, r, h).toTX(), fundingOf(c, r, h).toTX()];
  const pay = (f: BTX, rec: ContractRecord, proven: number) => {
    const state = { windows: 4, proven, missed: 4 - proven, seq: 3 };
    const mtx = buildSettlement('pay', 'host', f, rec.terms, state);
    return completeSettlement(mtx, 'pay', rec.terms, signSettlement(mtx, 'pay', rec.terms, r.id.secretKey), signSettlement(mtx, 'pay', rec.terms, h.id.secretKey));
  };
  const chain = new TestChain();
  chain.add([fa, fb, fc]);
  chain.add();
  chain.add([pay(fa, a, 4), pay(fb, b, 2)]); // c: no PAY, not counted
  const rep = await reputationAt(chain, h.id.publicKey);
  t.is(rep.fulfilment.windows, 8);
  t.is(rep.fulfilment.proven, 6);
  // b locked 3x the coins of a for as long: ratio = (1·1 + 3·0.5) / 4.
  t.true(Math.abs(rep.fulfilment.ratio! - 0.625) < 1e-3, `ratio ${rep.fulfilment.ratio}`);
  t.deepEqual((await reputationAt(chain, r.id.publicKey)).fulfilment, { windows: 0, proven: 0, ratio: null }, 'a renter has none');
});

test('the self-dealing attack: a 1 CC contract closed the next block, rated 5, cannot lift 100 genuine year-long contracts rated 1', async (t) => {
  const YEAR = 12 * MONTH_BLOCKS;
  const host = party();
  const genuine = Array.from({ length: 100 }, () => ({ renter: party() })).map(({ renter }) => {
    const record = contractOf(renter, host, { startHeight: 1, duration: YEAR, size: 10 * 1024 ** 3 });
    return { renter, record, funding: fundingOf(record, renter, host).toTX() };
  });
  const chain = new TestChain();
  chain.add();
  chain.add(genuine.map((g) => g.funding));
  while (chain.blocks.length <= YEAR + 1) chain.add();
  chain.add(genuine.map((g) => ratingTx(rate(g.record, g.renter, 1))));
  // The attacker's own renter key: a year-long contract back-dated so it has already ended, about 1 CC a side.
  const sock = party();
  const price = Math.ceil(1e8 / (10 * 12));
  const self = contractOf(sock, host, { startHeight: 0, duration: YEAR, size: 10 * 1024 ** 3, price, collateral: price });
  t.true(Math.abs(paymentOf(self.terms) - 1e8) < 1e6 && Math.abs(collateralOf(self.terms) - 1e8) < 1e6);
  const selfFunding = fundingOf(self, sock, host).toTX();
  chain.add([selfFunding]);
  chain.add([closeTx(selfFunding, self, sock, host), ratingTx(rate(self, sock, 5, 'excellent'))]);

  const rep = await reputationAt(chain, host.id.publicKey);
  t.is(rep.count, 101);
  t.true(rep.score < 1.1, `score ${rep.score}`);
  const claimed = reputationOf([
    ...genuine.map((g) => ({ score: 1, terms: g.record.terms, lockedBlocks: YEAR })),
    { score: 5, terms: self.terms, lockedBlocks: YEAR },
  ]);
  t.true(claimed.score > rep.score + 0.1, `weighed by the duration its terms claim, the attack would lift the score to ${claimed.score}`);
});
