/**
 * Issue 24's renewal on a live devnet: the renter's config.json holds a
 * policy of 160-block contracts renewed in their last 15 blocks. After the
 * push nobody runs a command but the miner, until the chain is past the
 * original contracts' end and refund height: the daemon has renewed every
 * contract with its host, the hosts have carried the sectors over (not
 * uploaded again), and the first snapshot pulls back identical.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileConfig, writeFileConfig } from '../src/lib/config/settings.js';
import { DEVNET_TERMS, contractDevnetHosts } from '../src/lib/devnet/contracts.js';
import type { Participant } from '../src/lib/devnet/participant.js';
import { listContracts, showContract } from '../src/lib/renter/index.js';
import { LiveDevnet } from './util/devnet.js';
import { waitFor } from './util/devnode.js';

const DURATION = 160;
const RENEW_WINDOW = 15;

async function tree(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const name of await readdir(dir)) out.set(name, await readFile(join(dir, name)));
  return out;
}

/** Inode of a sector file a host keeps under a contract. */
async function inode(host: Participant, contractId: string, sectorId: string): Promise<number> {
  return (await stat(join(host.datadir, 'sectors', 'sectors', contractId, sectorId.slice(0, 2), sectorId))).ino;
}

test.serial('contracts are renewed before their end with the data carried over, and the first snapshot pulls identical past their refund height', async (t) => {
  t.timeout(240_000);
  const net = await LiveDevnet.up(t, 3);
  const renter = net.get('renter');
  const hosts = net.participants.filter((p) => p.role === 'host');
  const contracts = await contractDevnetHosts(net.participants, { offer: DEVNET_TERMS.offer, take: { size: 2 ** 30, duration: DURATION } });
  const rc = net.client(renter);

  const data = join(net.dir, 'data');
  await mkdir(data, { recursive: true });
  for (let i = 0; i < 3; i++) await writeFile(join(data, `part-${i}.bin`), randomBytes(1_200_000));
  await writeFile(join(data, 'notes.txt'), 'kept across renewals\n');
  await net.run(renter, ['store', 'init']);
  const pushed = await net.run(renter, ['store', 'push', data]);
  // What is stored is committed: the daemon signs a revision over each host's sectors on the next block.
  await net.mine(renter, 1, net.participants);
  await waitFor(async () => {
    const committed = await Promise.all(contracts.map(async (c) => (await showContract(rc, c.contractId)).fulfilment!.commitment?.sectors ?? 0));
    return committed.every((n) => n > 0) ? committed : null;
  }, 120_000, 'every host holding a committed share of the push');

  writeFileConfig(renter.datadir, { ...readFileConfig(renter.datadir), renter: { hosts: 3, duration: DURATION, renewWindow: RENEW_WINDOW } });
  const original = await Promise.all(contracts.map((c) => showContract(rc, c.contractId)));
  const end = Math.min(...original.map((c) => c.endHeight));
  const refund = Math.max(...original.map((c) => c.refundHeight));
  // Up to the block before the renew window: nothing renewed yet.
  const tip = await net.height(renter);
  await net.mine(renter, end - RENEW_WINDOW - 1 - tip, net.participants);
  t.true((await Promise.all(contracts.map((c) => showContract(rc, c.contractId)))).every((c) => c.fulfilment!.renewedTo === null));

  // Inside the window the daemon renews, a block funds the renewals, and the hosts carry the sectors over.
  await net.mineUntil('every contract renewed and carried over', renter, net.participants, async () => {
    const now = await Promise.all(contracts.map((c) => showContract(rc, c.contractId)));
    return now.every((c) => c.fulfilment!.renewal === 'carried');
  }, RENEW_WINDOW - 2);
  t.true((await net.height(renter)) < end, 'renewed before the end');

  const renewals = new Map<string, string>();
  for (const c of contracts) {
    const old = await showContract(rc, c.contractId);
    const next = await showContract(rc, old.fulfilment!.renewedTo!);
    t.is(next.hostKey, old.hostKey, 'renewed with the same host');
    t.is(next.fulfilment!.renewedFrom, c.contractId);
    t.is(next.endHeight - next.startHeight, DURATION);
    renewals.set(c.contractId, next.id);
  }
  // The renewed contracts' own commitments cover what the old ones held: the carried files are the old ones, linked.
  // (The renter's daemon leaves a contract alone in the block that funds it, so this may take a block more.)
  await net.mineUntil('each renewed contract committing to the carried sectors', renter, net.participants, async () => {
    const committed = await Promise.all(contracts.map(async (c) => (await showContract(rc, renewals.get(c.contractId)!)).fulfilment!.commitment?.sectors ?? 0));
    const old = await Promise.all(contracts.map(async (c) => (await showContract(rc, c.contractId)).fulfilment!.commitment!.sectors));
    return committed.every((n, i) => n === old[i]);
  }, 8);
  for (const [i, c] of contracts.entries()) {
    const host = hosts.find((h) => h.name === c.host)!;
    const held = await readdir(join(host.datadir, 'sectors', 'sectors', c.contractId)).then(async (fans) =>
      (await Promise.all(fans.map((f) => readdir(join(host.datadir, 'sectors', 'sectors', c.contractId, f))))).flat().filter((n) => /^[0-9a-f]{64}$/.test(n)));
    t.true(held.length > 0, `host ${i} held sectors`);
    for (const s of held) t.is(await inode(host, renewals.get(c.contractId)!, s), await inode(host, c.contractId, s));
  }

  // Past the original contracts' end and refund height: they are over, their renewals serve.
  const at = await net.height(renter);
  await net.mine(renter, refund + 1 - at, net.participants);
  const mine = (await listContracts(rc, 'renter')).contracts;
  for (const c of contracts) t.not(mine.find((x) => x.id === c.contractId)!.state, 'active');

  const restored = join(net.dir, 'restored');
  await net.run(renter, ['store', 'pull', pushed.snapshot, restored]);
  t.deepEqual(await tree(restored), await tree(data), 'the first snapshot, identical');
});
