import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MONTH_BLOCKS, collateralOf, paymentOf } from '../src/lib/net/terms.js';
import { Registry } from '../src/lib/negotiator/registry.js';
import { PRIOR_SCORE, PRIOR_WEIGHT, ratingWeight, reputationFromRegistry, reputationOf } from '../src/lib/negotiator/reputation.js';
import { TestChain, contractOf, fundingOf, party, rate, ratingTx, termsOf } from './negotiator-fixtures.js';

const renter = party();
const host = party();

test('no ratings: the neutral prior', (t) => {
  t.deepEqual(reputationOf([]), { score: PRIOR_SCORE, count: 0, weight: 0 });
});

test('weight is coins locked times months locked', (t) => {
  const terms = termsOf(renter, host, { duration: 2 * MONTH_BLOCKS });
  t.is(ratingWeight(terms), (paymentOf(terms) + collateralOf(terms)) * 2);
});

test('a big long contract outweighs many tiny short ones', (t) => {
  const big = termsOf(renter, host, { size: 1024 ** 4, duration: 12 * MONTH_BLOCKS });
  const tiny = termsOf(renter, host, { size: 1024 ** 3, duration: 144 });
  const rep = reputationOf([{ score: 5, terms: big }, ...Array.from({ length: 50 }, () => ({ score: 1, terms: tiny }))]);
  t.true(rep.score > 4.9, `score ${rep.score}`);
  t.is(rep.count, 51);
});

test('little rated business stays near the prior', (t) => {
  const tiny = termsOf(renter, host, { size: 1024 ** 3, duration: 144, price: 1000, collateral: 1000 });
  const rep = reputationOf([{ score: 5, terms: tiny }]);
  t.true(rep.weight < PRIOR_WEIGHT);
  t.true(rep.score < 3.01, `score ${rep.score}`);
});

test('computed from the registry: two nodes indexing the same blocks agree', async (t) => {
  const chain = new TestChain();
  const renters = [party(), party(), party(), party()];
  const records = renters.map((r, i) => contractOf(r, host, { startHeight: 2, duration: 4320 * (i + 1), size: 1024 ** 4 }));
  chain.add(records.map((c, i) => fundingOf(c, renters[i], host).toTX()));
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
  const expected = reputationOf(records.map((c, i) => ({ score: i + 2, terms: c.terms })));
  t.true(Math.abs(reps[0].score - expected.score) < 1e-12);
  t.true(reps[0].score > 4, 'the longest contracts carry the best scores');
});
