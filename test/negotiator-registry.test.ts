import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BBlock } from '../src/lib/chain/primitives.js';
import { escrowOutputScript } from '../src/lib/negotiator/escrow.js';
import { ContractRecord } from '../src/lib/negotiator/records.js';
import { Level } from 'level';
import { Registry } from '../src/lib/negotiator/registry.js';
import type { RegistryDB } from '../src/lib/negotiator/undo.js';
import { TestChain, closeTx, contractOf, fundingOf, party, rate, ratingTx } from './negotiator-fixtures.js';

const dirs: string[] = [];
test.after.always(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function registry(): Promise<Registry> {
  const dir = mkdtempSync(join(tmpdir(), 'cc-registry-'));
  dirs.push(dir);
  const reg = Registry.at(dir);
  await reg.open();
  return reg;
}

async function dump(reg: Registry): Promise<string[]> {
  const out: string[] = [];
  for await (const [k, v] of reg.db.iterator({ gte: Buffer.alloc(0), lt: Buffer.alloc(1, 0xff) })) out.push(`${k.toString('hex')}=${v.toString('hex')}`);
  return out;
}

async function index(reg: Registry, blocks: BBlock[], from = 0): Promise<void> {
  for (const [i, b] of blocks.entries()) await reg.connectBlock(b, from + i);
}

/** A small history: three contracts, ratings valid and invalid, a settlement. */
function history() {
  const [r1, r2, h1, h2, outsider] = [party(), party(), party(), party(), party()];
  const c1 = contractOf(r1, h1, { startHeight: 3, duration: 5 });
  const c2 = contractOf(r2, h1, { startHeight: 3, duration: 50 });
  const c3 = contractOf(r1, h2, { startHeight: 3, duration: 50, size: 100 * 1024 ** 3 });
  const f1 = fundingOf(c1, r1, h1).toTX();
  const f2 = fundingOf(c2, r2, h1).toTX();
  const f3 = fundingOf(c3, r1, h2).toTX();
  const chain = new TestChain();
  chain.add();
  chain.add([f1, f2, ratingTx(rate(c1, r1, 5, 'great'))]); // rated in the block that funds it
  chain.add([f3, ratingTx(rate(c1, outsider, 1, 'not a party'))]);
  chain.add([ratingTx(rate(c1, r1, 1, 'second rating')), ratingTx(rate(c1, h1, 4)), ratingTx(rate(c3, r1, 2))]);
  chain.add([closeTx(f1, c1, r1, h1)]);
  return { chain, parties: { r1, r2, h1, h2, outsider }, contracts: { c1, c2, c3 } };
}

test('indexes funded contracts, valid ratings and settlements; ignores non-party and second ratings', async (t) => {
  const { chain, parties: { r1, h1, h2, outsider }, contracts: { c1, c2, c3 } } = history();
  const reg = await registry();
  await index(reg, chain.blocks);
  t.is(reg.getTip()?.height, 4);

  const e1 = await reg.getContract(c1.id());
  t.is(e1?.stateAt(4), 'settled');
  t.is(e1?.height, 1);
  t.is((await reg.getContract(c2.id()))?.stateAt(4), 'active');
  t.is((await reg.getContract(c2.id()))?.stateAt(2), 'funded');
  t.is((await reg.getContract(c2.id()))?.stateAt(53), 'expired');

  t.deepEqual((await reg.listByKey(h1.id.publicKey, 'host')).map((e) => e.record.id().toString('hex')).sort(),
    [c1.id().toString('hex'), c2.id().toString('hex')].sort());
  t.is((await reg.listByKey(h1.id.publicKey, 'renter')).length, 0);
  t.is((await reg.listByKey(r1.id.publicKey)).length, 2);

  const ofHost = await reg.ratingsOf(h1.id.publicKey);
  t.deepEqual(ofHost.map((r) => [r.rating.score, r.rating.comment]), [[5, 'great']], 'first rating only; the outsider ignored');
  t.deepEqual((await reg.ratingsOf(r1.id.publicKey)).map((r) => r.rating.score), [4]);
  t.deepEqual((await reg.ratingsOf(h2.id.publicKey)).map((r) => r.rating.score), [2]);
  t.is((await reg.ratingsOf(outsider.id.publicKey)).length, 0);
  t.is((await reg.ratingsFor(c1.id())).length, 2);
  t.is((await reg.ratingsFor(c3.id())).length, 1);
  await reg.close();
});

test('a contract record without its escrow, or with a forged signature, is not a contract', async (t) => {
  const renter = party();
  const host = party();
  const good = contractOf(renter, host);
  const wrongEscrow = fundingOf(good, renter, host);
  wrongEscrow.outputs[1].script = escrowOutputScript(good.terms, 'collateral');
  const forged = new ContractRecord(good.terms, good.renterSig, good.renterSig);
  const chain = new TestChain();
  chain.add([wrongEscrow.toTX(), fundingOf(forged, renter, host).toTX()]);
  const reg = await registry();
  t.deepEqual(await reg.connectBlock(chain.blocks[0], 0), { contracts: 0, ratings: 0, spends: 0 });
  t.is(await reg.getContract(good.id()), null);
  await reg.close();
});

test('rebuilding from the same blocks gives the identical registry (one in its own LevelDB, one in a sublevel)', async (t) => {
  const { chain } = history();
  const a = await registry();
  const dir = mkdtempSync(join(tmpdir(), 'cc-registry-sub-'));
  dirs.push(dir);
  const parent = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await parent.put(Buffer.from('other'), Buffer.from('data'));
  const b = new Registry(parent.sublevel<Buffer, Buffer>('negotiator', { keyEncoding: 'buffer', valueEncoding: 'buffer' }) as unknown as RegistryDB);
  await b.open();
  await index(a, chain.blocks);
  await index(b, chain.blocks);
  const dumpA = await dump(a);
  t.true(dumpA.length > 10);
  t.deepEqual(dumpA, await dump(b));
  await a.close();
  await b.close();
  await parent.close();
});

test('reorg: disconnecting blocks restores the registry exactly; an orphaned funding leaves funded state', async (t) => {
  const { chain, contracts: { c1, c3 } } = history();
  const reg = await registry();
  const snapshots: string[][] = [await dump(reg)];
  for (const [h, b] of chain.blocks.entries()) {
    await reg.connectBlock(b, h);
    snapshots.push(await dump(reg));
  }
  for (let h = chain.blocks.length - 1; h >= 1; h--) {
    await reg.disconnectBlock(chain.blocks[h], h);
    t.deepEqual(await dump(reg), snapshots[h], `state after undoing block ${h}`);
    if (h === 2) t.is(await reg.getContract(c3.id()), null, 'c3 orphaned');
  }
  t.is(await reg.getContract(c1.id()), null);
  t.is(reg.getTip()?.height, 0);

  // The competing branch without block 2: c3 never funded there, c1 still is.
  const alt = chain.make([], chain.blocks[1]);
  await reg.connectBlock(chain.blocks[1], 1);
  await reg.connectBlock(alt, 2);
  t.truthy(await reg.getContract(c1.id()));
  t.is(await reg.getContract(c3.id()), null);
  await reg.close();
});

test('blocks must arrive in chain order', async (t) => {
  const { chain } = history();
  const reg = await registry();
  await reg.connectBlock(chain.blocks[0], 0);
  await t.throwsAsync(reg.connectBlock(chain.blocks[2], 1), { message: /does not extend/ });
  await t.throwsAsync(reg.disconnectBlock(chain.blocks[1], 1), { message: /not the registry tip/ });
  await reg.close();
});
