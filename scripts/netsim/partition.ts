/**
 * A partition that heals: the trunk between the two bridges goes down, each
 * side mines on its own (side b more blocks, so its chain wins), the two
 * sides are seen at different tips, the trunk comes back, and every node
 * must reorganise onto one tip. Then every node's Negotiator registry (its
 * contracts and ratings, GET /ext/negotiator/registry) and every host key's
 * reputation as each node computes it are hashed: one hash each across all
 * nodes is the check.
 */
import { negotiatorApi } from '../../src/lib/renter/index.js';
import type { Machine } from './machine.js';
import { digest, type World } from './world.js';

export interface PartitionHeal {
  side: { a: number; b: number };
  /** Each side at a tip of its own while cut off. */
  diverged: boolean;
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

export async function partitionAndHeal(world: World, log: (l: string) => void): Promise<PartitionHeal> {
  const sideA = world.machines.filter((m) => m.side === 'a');
  const sideB = world.machines.filter((m) => m.side === 'b');
  const [minerA, minerB] = [world.seedsOf('a')[0], world.seedsOf('b')[0]];
  world.net.partition();
  log(`  trunk down: ${sideA.length} nodes on side a, ${sideB.length} on side b`);
  await world.mine(minerA, 1);
  await world.mine(minerB, 2);
  const [tipA, tipB] = await Promise.all([
    world.converged('side a at its own tip', 120_000, sideA),
    world.converged('side b at its own tip', 120_000, sideB),
  ]);
  const diverged = tipA !== tipB;
  log(`  side a at ${tipA.slice(0, 16)}…, side b at ${tipB.slice(0, 16)}…`);
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
    healSeconds,
    height: v.height,
    contracts: v.contracts,
    registryDigests,
    reputationDigests,
    identical: registryDigests === 1 && reputationDigests === 1,
  };
}
