/**
 * A partition that heals: the trunk between the two bridges goes down; on
 * one side (the losing side: one with a renter) a renter contracts a host of
 * its side and that side mines the contract's funding into one block, while
 * the other side mines two, so its chain wins; the two sides are seen at
 * different tips and with different registries; the trunk comes back, and
 * every node must reorganise onto one tip, the losing side's nodes undoing
 * the contract. Then every node's Negotiator
 * registry (its contracts and ratings, GET /ext/negotiator/registry) and
 * every host key's reputation as each node computes it are hashed: one hash
 * each across all nodes is the check.
 */
import { DEVNET_TERMS } from '../../src/lib/devnet/contracts.js';
import { acceptOffer, negotiatorApi } from '../../src/lib/renter/index.js';
import { until, type Machine } from './machine.js';
import type { Side } from './network.js';
import { digest, type World } from './world.js';

export interface PartitionHeal {
  side: { a: number; b: number };
  /** Each side at a tip of its own while cut off. */
  diverged: boolean;
  /** Contracts in the registry of each side while cut off: the losing side's holds the one made there. */
  contractsWhileCut: { losing: number; winning: number };
  healSeconds: number;
  height: number;
  contracts: number;
  /** Distinct hashes of the registry, and of all hosts' reputations, across the nodes: 1 is identical. */
  registryDigests: number;
  reputationDigests: number;
  identical: boolean;
}

async function views(world: World): Promise<{ registry: string[]; reputation: string[]; contracts: number; height: number }> {
  const keys = await Promise.all(world.of('host').map(async (h) => (await h.client().node('GET', '/ext/negotiator/identity')).key as string));
  const each = await Promise.all(world.machines.map(async (m: Machine) => {
    const c = m.client();
    const registry = await negotiatorApi<{ tip: { height: number }; contracts: unknown[] }>(c, 'GET', '/registry');
    const reputations = await Promise.all(keys.map((k) => negotiatorApi(c, 'GET', `/reputation/${k}`)));
    return { registry, text: JSON.stringify(registry), reputation: JSON.stringify(reputations) };
  }));
  return {
    registry: each.map((e) => digest(e.text)),
    reputation: each.map((e) => digest(e.reputation)),
    contracts: each[0].registry.contracts.length,
    height: each[0].registry.tip.height,
  };
}

const contractCount = async (m: Machine) => (await negotiatorApi<{ contracts: unknown[] }>(m.client(), 'GET', '/registry')).contracts.length;

/**
 * `offers` is each host's offer. The renter has a coin to spare
 * (market.ts funds one more than its contracts), and a host has capacity for
 * more than one contract, so a second contract between the two is fine.
 */
export async function partitionAndHeal(world: World, offers: Map<Machine, string>, log: (l: string) => void): Promise<PartitionHeal> {
  const sideA = world.machines.filter((m) => m.side === 'a');
  const sideB = world.machines.filter((m) => m.side === 'b');
  const renter = world.of('renter').pop()!;
  const losing = renter.side;
  const winning: Side = losing === 'a' ? 'b' : 'a';
  const [minerL, minerW] = [world.seedsOf(losing)[0], world.seedsOf(winning)[0]];
  const host = world.of('host').filter((h) => h.side === losing).pop()!;
  world.net.partition();
  log(`  trunk down: ${sideA.length} nodes on side a, ${sideB.length} on side b`);
  const { txid } = await acceptOffer(renter.client(), { offer: offers.get(host)!, ...DEVNET_TERMS.take, timeout: 120_000 });
  await until('the contract\'s funding in its side\'s miner\'s mempool', async () => ((await minerL.client().rpc('getrawmempool', [])) as string[]).includes(txid!), 60_000);
  log(`  ${renter.name} contracted ${host.name}, both on side ${losing}`);
  await world.mine(minerL, 1);
  await world.mine(minerW, 2);
  const [tipA, tipB] = await Promise.all([
    world.converged('side a at its own tip', 120_000, sideA),
    world.converged('side b at its own tip', 120_000, sideB),
  ]);
  const diverged = tipA !== tipB;
  const contractsWhileCut = { losing: await contractCount(minerL), winning: await contractCount(minerW) };
  log(`  side a at ${tipA.slice(0, 16)}…, side b at ${tipB.slice(0, 16)}…; contracts on the losing side ${contractsWhileCut.losing}, on the winning side ${contractsWhileCut.winning}`);
  world.net.heal();
  const t0 = Date.now();
  const tip = await world.converged('every node on one tip after the heal', 300_000);
  const healSeconds = (Date.now() - t0) / 1000;
  const v = await views(world);
  const registryDigests = new Set(v.registry).size;
  const reputationDigests = new Set(v.reputation).size;
  log(`  healed in ${healSeconds.toFixed(1)} s at ${tip.slice(0, 16)}…; registry hashes ${registryDigests}, reputation hashes ${reputationDigests}`);
  return {
    side: { a: sideA.length, b: sideB.length },
    diverged,
    contractsWhileCut,
    healSeconds,
    height: v.height,
    contracts: v.contracts,
    registryDigests,
    reputationDigests,
    identical: registryDigests === 1 && reputationDigests === 1,
  };
}
