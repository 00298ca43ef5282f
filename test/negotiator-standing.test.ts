import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BTX } from '../src/lib/chain/primitives.js';
import type { ContractRecord } from '../src/lib/negotiator/records.js';
import { Registry } from '../src/lib/negotiator/registry.js';
import { ratingWeight } from '../src/lib/negotiator/reputation.js';
import { buildSettlement, completeSettlement, signSettlement } from '../src/lib/negotiator/settlement.js';
import { standingOf } from '../src/lib/negotiator/standing.js';
import { TestChain, contractOf, fundingOf, party, type Party } from './negotiator-fixtures.js';

async function standingAt(chain: TestChain, key: Uint8Array): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'cc-standing-'));
  const reg = Registry.at(dir);
  await reg.open();
  try {
    for (const [h, b] of chain.blocks.entries()) await reg.connectBlock(b, h);
    return await standingOf(reg, key);
  } finally {
    await reg.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function pay(f: BTX, rec: ContractRecord, r: Party, h: Party, proven: number): BTX {
  const state = { windows: 4, proven, missed: 4 - proven, seq: 3 };
  const mtx = buildSettlement('pay', 'host', f, rec.terms, state);
  return completeSettlement(mtx, 'pay', rec.terms, signSettlement(mtx, 'pay', rec.terms, r.id.secretKey), signSettlement(mtx, 'pay', rec.terms, h.id.secretKey));
}

test('a fresh key, a renter and a host whose contract has not ended stand at 0', async (t) => {
  const r = party();
  const h = party();
  const c = contractOf(r, h, { startHeight: 0, duration: 4, size: 1024 ** 4 });
  const chain = new TestChain();
  chain.add([fundingOf(c, r, h).toTX()]);
  chain.add();
  t.is(await standingAt(chain, party().id.publicKey), 0);
  t.is(await standingAt(chain, h.id.publicKey), 0, 'not ended');
  chain.add();
  chain.add();
  chain.add();
  t.is(await standingAt(chain, r.id.publicKey), 0, 'standing is a host\'s');
  t.is(await standingAt(chain, h.id.publicKey), ratingWeight(c.terms, 4), 'the coin-months locked, funded at 0 and unspent at the tip, 4');
});

test('a PAY-settled contract counts in proportion to the windows proven; without a PAY, in full', async (t) => {
  const r = party();
  const h = party();
  const terms = { startHeight: 0, duration: 2, size: 1024 ** 4 };
  const [a, b, c] = [contractOf(r, h, terms), contractOf(r, h, terms), contractOf(r, h, terms)];
  const [fa, fb, fc] = [fundingOf(a, r, h).toTX(), fundingOf(b, r, h).toTX(), fundingOf(c, r, h).toTX()];
  const chain = new TestChain();
  chain.add([fa, fb, fc]);
  chain.add();
  chain.add([pay(fa, a, r, h, 4), pay(fb, b, r, h, 1)]);
  const w = ratingWeight(a.terms, 2);
  t.true(Math.abs(await standingAt(chain, h.id.publicKey) - (w + w / 4 + w)) < 1e-6);
});
