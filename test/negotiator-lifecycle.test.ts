/**
 * The whole life of a contract across the library, as the extension will
 * drive it: offer → negotiation → funding transaction → mined → settled →
 * rated → reputation, with the registry following the chain.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from '../src/lib/negotiator/registry.js';
import { reputationFromRegistry } from '../src/lib/negotiator/reputation.js';
import { ASK, RENTER_LIMITS, TestChain, closeTx, playOut, rate, ratingTx, world } from './negotiator-fixtures.js';

const NOW = 1_800_000_000;

test('offer → negotiate → fund → mine → settle → rate → reputation', async (t) => {
  const w = await world(NOW, {}, {}, { bytes: 0, contracts: 0, height: 1 });
  const { send, negotiation } = w.r.propose(w.offer, { ...ASK, startHeight: 2, duration: 144 }, RENTER_LIMITS, NOW);
  const { tx } = await playOut(w, send, NOW);
  t.truthy(tx);
  const funding = tx!.toTX();
  const record = negotiation.record();

  const dir = mkdtempSync(join(tmpdir(), 'cc-life-'));
  const reg = Registry.at(dir);
  await reg.open();
  const chain = new TestChain();
  const connect = async (txs = [] as typeof funding[]) => {
    const b = chain.add(txs);
    return reg.connectBlock(b, chain.blocks.length - 1);
  };
  await connect();
  t.is((await connect([funding])).contracts, 1);
  const id = record.id();
  const state = async () => (await reg.getContract(id))!.stateAt(reg.getTip()!.height);
  t.is(await state(), 'funded', 'mined at height 1, starts at 2');
  await connect();
  t.is(await state(), 'active');
  while (reg.getTip()!.height < 146) await connect();
  t.is(await state(), 'expired', 'ends at 2 + 144');
  t.is((await connect([closeTx(funding, record, w.renter, w.host)])).spends, 2);
  t.is(await state(), 'settled');
  t.is((await connect([ratingTx(rate(record, w.renter, 5, 'all there')), ratingTx(rate(record, w.host, 4))])).ratings, 2);

  const hostRep = await reputationFromRegistry(reg, w.host.id.publicKey);
  t.is(hostRep.count, 1);
  t.true(hostRep.score > 3);
  t.deepEqual((await reg.getContract(id))!.toInfo(reg.getTip()!.height).state, 'settled');
  await reg.close();
  rmSync(dir, { recursive: true, force: true });
});
