import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BBlock, BScript, BTX } from '../src/lib/chain/primitives.js';
import { collateralOf, paymentOf } from '../src/lib/net/terms.js';
import {
  cooperativeWitness, escrowOutputScript, escrowValue, ownerRefundHeight, refundWitness, signEscrowInput, spendEscrow, type EscrowKind,
} from '../src/lib/negotiator/escrow.js';
import { ContractRecord } from '../src/lib/negotiator/records.js';
import {
  buildSettlement, completeSettlement, payAmounts, settlementOutputs, signSettlement, splitAmounts,
  type SettlementKind, type SettlementState, type SettlementVariant,
} from '../src/lib/negotiator/settlement.js';
import { Level } from 'level';
import { LAYOUT_VERSION } from '../src/lib/negotiator/layout.js';
import { Registry } from '../src/lib/negotiator/registry.js';
import type { RegistryDB } from '../src/lib/negotiator/undo.js';
import { TestChain, closeTx, contractOf, fundingOf, party, rate, ratingTx, type Party } from './negotiator-fixtures.js';

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
  // Ratings count from the end height: c1 ends at 1, c3 at 3, when they are rated.
  const c1 = contractOf(r1, h1, { startHeight: 0, duration: 1, size: 1024 ** 4 });
  const c2 = contractOf(r2, h1, { startHeight: 3, duration: 50 });
  const c3 = contractOf(r1, h2, { startHeight: 1, duration: 2, size: 100 * 1024 ** 3 });
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

function settle(kind: SettlementKind, variant: SettlementVariant, funding: BTX, c: ContractRecord, r: Party, h: Party, state: SettlementState): BTX {
  const mtx = buildSettlement(kind, variant, funding, c.terms, state);
  return completeSettlement(mtx, kind, c.terms, signSettlement(mtx, kind, c.terms, r.id.secretKey), signSettlement(mtx, kind, c.terms, h.id.secretKey));
}

function refund(kind: EscrowKind, funding: BTX, c: ContractRecord, owner: Party): BTX {
  const mtx = spendEscrow(funding, c.terms, [kind], [{ script: owner.program, value: escrowValue(c.terms, kind) - 2000 }], ownerRefundHeight(c.terms, kind));
  refundWitness(mtx, 0, c.terms, kind, signEscrowInput(mtx, 0, c.terms, kind, owner.id.secretKey));
  return mtx.toTX();
}

test('ratings mined before the contract\'s end height do not count; from the end they do', async (t) => {
  const [r, h] = [party(), party()];
  const c = contractOf(r, h, { startHeight: 0, duration: 3, size: 1024 ** 4 });
  const chain = new TestChain();
  chain.add([fundingOf(c, r, h).toTX()]);
  chain.add([ratingTx(rate(c, r, 5, 'too early'))]);
  chain.add();
  chain.add([ratingTx(rate(c, r, 2, 'at the end')), ratingTx(rate(c, h, 4))]);
  const reg = await registry();
  await index(reg, chain.blocks);
  t.deepEqual((await reg.ratingsFor(c.id())).map((x) => [x.rating.score, x.height]).sort(), [[2, 3], [4, 3]]);
  await reg.close();
});

test('settlements and refunds: the outcome of each escrow spend, undone by a reorg', async (t) => {
  const [r, h] = [party(), party()];
  const short = { startHeight: 0, duration: 2, size: 1024 ** 4 };
  const [pc, sc, rc] = [contractOf(r, h, short), contractOf(r, h, short), contractOf(r, h, short)];
  const [pf, sf, rf] = [fundingOf(pc, r, h).toTX(), fundingOf(sc, r, h).toTX(), fundingOf(rc, r, h).toTX()];
  const W = 10;
  const chain = new TestChain();
  chain.add([pf, sf, rf]);
  // pc: PAY and SPLIT at p = 7 of 10, the host variants; sc: SPLIT of a host that proved nothing, then a PAY.
  chain.add([settle('pay', 'host', pf, pc, r, h, { windows: W, proven: 7, missed: 3, seq: 9 }), settle('split', 'host', pf, pc, r, h, { windows: W, proven: 7, missed: 3, seq: 9 })]);
  chain.add([settle('split', 'renter', sf, sc, r, h, { windows: W, proven: 0, missed: W, seq: 2 })]);
  const reg = await registry();
  await index(reg, chain.blocks);
  const snapshot = await dump(reg);
  const tip = 2;

  const pay = payAmounts(paymentOf(pc.terms), W, 7);
  const split = splitAmounts(collateralOf(pc.terms), W, 7);
  const info = (await reg.getContract(pc.id()))!.toInfo(tip);
  t.is(info.state, 'settled');
  t.deepEqual(info.outcome, {
    windows: W, proven: 7, missed: 3, seq: 9,
    hostPaid: pay.hostPaid, renterRefunded: pay.renterRefunded, collateralReturned: split.hostPaid, burned: split.burned,
    paymentBy: 'settlement', collateralBy: 'settlement',
  });
  t.true(split.burned > 0);

  const burnt = (await reg.getContract(sc.id()))!.toInfo(tip);
  t.is(burnt.state, 'expired');
  t.deepEqual(burnt.outcome, {
    windows: W, proven: 0, missed: W, seq: 2, hostPaid: 0, renterRefunded: 0,
    collateralReturned: 0, burned: collateralOf(sc.terms) - 2000, paymentBy: null, collateralBy: 'settlement',
  });
  t.is((await reg.getContract(rc.id()))!.toInfo(tip).outcome, null, 'no spend, no outcome');

  // Refunds after the refund heights: the renter's payment, then the host's collateral.
  const refundAt = ownerRefundHeight(rc.terms, 'payment');
  while (chain.blocks.length <= refundAt) chain.add();
  chain.add([refund('payment', rf, rc, r)]);
  while (chain.blocks.length <= ownerRefundHeight(rc.terms, 'collateral')) chain.add();
  chain.add([refund('collateral', rf, rc, h)]);
  await index(reg, chain.blocks.slice(3), 3);
  t.deepEqual((await reg.getContract(rc.id()))!.toInfo(reg.getTip()!.height).outcome, {
    windows: null, proven: null, missed: null, seq: null, hostPaid: 0, renterRefunded: paymentOf(rc.terms),
    collateralReturned: collateralOf(rc.terms), burned: 0, paymentBy: 'refund', collateralBy: 'refund',
  });

  for (let height = chain.blocks.length - 1; height > tip; height--) await reg.disconnectBlock(chain.blocks[height], height);
  t.deepEqual(await dump(reg), snapshot, 'the refunds undone');
  await reg.disconnectBlock(chain.blocks[2], 2);
  await reg.disconnectBlock(chain.blocks[1], 1);
  t.is((await reg.getContract(pc.id()))!.toInfo(0).outcome, null, 'the settlements undone');
  t.is((await reg.getContract(sc.id()))!.toInfo(0).outcome, null);
  await reg.close();
});

test('a 2-of-2 spend is a settlement only with this contract\'s outcome record, of its kind, and the exact outputs', async (t) => {
  const [r, h] = [party(), party()];
  const c = contractOf(r, h, { startHeight: 0, duration: 2, size: 1024 ** 4 });
  const other = contractOf(r, h, { startHeight: 0, duration: 2, size: 1024 ** 4 });
  const f = fundingOf(c, r, h).toTX();
  const state = { windows: 4, proven: 3, missed: 1, seq: 5 };
  const cosign = (kind: EscrowKind, outputs: { script: BScript; value: number }[]) => {
    const mtx = spendEscrow(f, c.terms, [kind], outputs);
    cooperativeWitness(mtx, 0, c.terms, kind, signEscrowInput(mtx, 0, c.terms, kind, r.id.secretKey), signEscrowInput(mtx, 0, c.terms, kind, h.id.secretKey));
    return mtx.toTX();
  };
  const right = settlementOutputs('pay', c.terms, state);
  const cases: [string, BTX][] = [
    ['a host payout one unit higher', cosign('payment', right.map((o, i) => ({ ...o, value: o.value + (i === 1 ? 1 : 0) })))],
    ['the other contract\'s record', cosign('payment', [settlementOutputs('pay', other.terms, state)[0], ...right.slice(1)])],
    ['a SPLIT record on the payment output', cosign('payment', [settlementOutputs('split', c.terms, state)[0], ...right.slice(1)])],
    ['an extra output', cosign('payment', [...right, { script: h.program, value: 0 }])],
  ];
  for (const [what, tx] of cases) {
    const chain = new TestChain();
    chain.add([f]);
    chain.add([tx]);
    const reg = await registry();
    await index(reg, chain.blocks);
    const info = (await reg.getContract(c.id()))!.toInfo(1);
    t.truthy(info.paymentSpent, `${what}: spent`);
    t.deepEqual([info.outcome?.paymentBy, info.outcome?.hostPaid], [null, 0], `${what}: not judged a settlement`);
    await reg.close();
  }
});

test('a registry of an older layout is emptied for a reindex; a newer one is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cc-registry-old-'));
  dirs.push(dir);
  const db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  const v = (n: number) => Buffer.from([n, 0, 0, 0]);
  await db.batch([{ type: 'put', key: Buffer.from('V'), value: v(1) }, { type: 'put', key: Buffer.from('T'), value: Buffer.alloc(36, 7) }, { type: 'put', key: Buffer.from('c-old'), value: Buffer.alloc(3) }]);
  await db.close();
  const reg = Registry.at(dir);
  await reg.open();
  t.is(reg.getTip(), null, 'the indexer starts again from genesis');
  t.deepEqual(await dump(reg), [`56=${v(LAYOUT_VERSION).toString('hex')}`]);
  await reg.db.batch([{ type: 'put', key: Buffer.from('V'), value: v(LAYOUT_VERSION + 1) }]);
  await reg.close();
  await t.throwsAsync(Registry.at(dir).open(), { message: /newer/ });
});
