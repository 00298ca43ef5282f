/**
 * `npm run netsim`: a CloudCoin network of many machines on this one, each
 * machine a network namespace with an address of its own (netsim/network.ts),
 * and a scenario over it: offers flooded, contracts between nodes that never
 * met, a store push and pull while hosts churn, a partition that heals. It
 * prints what it measured and whether each check held; exit 0 when all did.
 * Needs root (namespaces, veths, bridges). docs/netsim.md says more.
 *
 *   npm run netsim -- [--short] [--nodes 30] [--hosts 20] [--seeds nodes/6] [--json] [--keep]
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { storeUnderChurn, type StoreUnderChurn } from './netsim/churn.js';
import { fund, negotiate, plan, publishOffers, type Negotiations, type Propagation } from './netsim/market.js';
import { namespaceSupportProblem, removeStaleRuns, SimNetwork } from './netsim/network.js';
import { partitionAndHeal, type PartitionHeal } from './netsim/partition.js';
import { World, type Layout } from './netsim/world.js';

const RUN_DIR_PREFIX = 'ccnet-';

export interface NetsimReport {
  layout: Layout & { renters: number };
  seconds: number;
  propagation: Propagation;
  negotiations: Negotiations;
  store: StoreUnderChurn;
  partition: PartitionHeal;
  checks: Record<'offersReach99' | 'contractsWithoutPriorConnection' | 'storeIdenticalUnderChurn' | 'partitionDiverged' | 'identicalAfterHeal', boolean>;
  passed: boolean;
}

function options() {
  const { values } = parseArgs({
    options: {
      short: { type: 'boolean', default: false },
      nodes: { type: 'string' },
      hosts: { type: 'string' },
      seeds: { type: 'string' },
      json: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
    },
  });
  const nodes = Number(values.nodes ?? (values.short ? 10 : 30));
  const layout: Layout = {
    nodes,
    hosts: Number(values.hosts ?? (values.short ? 6 : 20)),
    seeds: Number(values.seeds ?? Math.max(2, Math.ceil(nodes / 6))),
  };
  const renters = layout.nodes - layout.hosts - layout.seeds;
  if (![layout.nodes, layout.hosts, layout.seeds].every(Number.isInteger) || layout.seeds < 2 || layout.hosts < 3 || renters < 1 || layout.nodes > 1000) {
    throw new Error('--nodes, --hosts and --seeds must leave at least one renter, with at least 3 hosts, 2 seeds and at most 1000 nodes');
  }
  return { layout, json: values.json, keep: values.keep };
}

/** Run directories of runs whose process is gone. */
function removeStaleDirs(): void {
  for (const name of readdirSync(tmpdir()).filter((n) => n.startsWith(RUN_DIR_PREFIX))) {
    const pid = Number(name.slice(RUN_DIR_PREFIX.length));
    if (pid !== process.pid && !existsSync(`/proc/${pid}`)) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

function human(r: NetsimReport): string {
  const yes = (b: boolean) => (b ? 'yes' : 'NO');
  return [
    `netsim: ${r.layout.nodes} nodes (${r.layout.seeds} seeds, ${r.layout.renters} renters, ${r.layout.hosts} hosts with file servers), ${r.seconds.toFixed(0)} s`,
    `  offer to 99% of nodes:        ${r.propagation.slowestSeconds.toFixed(2)} s slowest, ${r.propagation.medianSeconds.toFixed(2)} s median (${r.propagation.offers} offers)`,
    `  negotiations a second:        ${r.negotiations.perSecond.toFixed(2)} (${r.negotiations.contracts} in ${r.negotiations.seconds.toFixed(1)} s)`,
    `  contracts, never connected:   ${r.negotiations.neverConnected} of ${r.negotiations.contracts}`,
    `  push/pull identical in churn: ${yes(r.store.identical)} (${r.store.minShards}-of-${r.store.totalShards}; down for push ${r.store.downDuringPush.join(' ')}, for pull ${r.store.downDuringPull.join(' ')}; push ${r.store.pushSeconds.toFixed(1)} s, pull ${r.store.pullSeconds.toFixed(1)} s)`,
    `  partition diverged:           ${yes(r.checks.partitionDiverged)} (${r.partition.side.a} | ${r.partition.side.b} nodes, ${r.partition.contractsWhileCut.losing} contracts on the losing side, ${r.partition.contractsWhileCut.winning} on the winning one), healed in ${r.partition.healSeconds.toFixed(1)} s`,
    `  identical after heal:         ${yes(r.checks.identicalAfterHeal)} (registry of ${r.partition.contracts} contracts at height ${r.partition.height})`,
    r.passed ? 'all checks passed' : `FAILED: ${Object.entries(r.checks).filter(([, ok]) => !ok).map(([k]) => k).join(', ')}`,
  ].join('\n');
}

async function run(layout: Layout, runDir: string, log: (l: string) => void, net: SimNetwork, world: World): Promise<NetsimReport> {
  const t0 = Date.now();
  log(`building ${layout.nodes} namespaces on 10.77.0.0/16 (run ${net.runId}, ${runDir})`);
  await world.build();
  const contracts = plan(world);
  log('funding');
  await fund(world, contracts);
  log('publishing offers');
  const { offers, propagation } = await publishOffers(world, log);
  log('negotiating');
  const negotiations = await negotiate(world, contracts, offers, log);
  log('store push and pull while hosts churn');
  const store = await storeUnderChurn(world, runDir, log);
  await world.converged('every node back on one tip after the churn', 300_000);
  log('partition');
  const partition = await partitionAndHeal(world, offers, log);
  const checks = {
    offersReach99: propagation.offers === layout.hosts,
    contractsWithoutPriorConnection: negotiations.contracts > 0 && negotiations.neverConnected === negotiations.contracts,
    storeIdenticalUnderChurn: store.identical,
    partitionDiverged: partition.diverged && partition.contractsWhileCut.losing === partition.contractsWhileCut.winning + 1,
    identicalAfterHeal: partition.identical && partition.contracts === partition.contractsWhileCut.winning,
  };
  return {
    layout: { ...layout, renters: layout.nodes - layout.hosts - layout.seeds },
    seconds: (Date.now() - t0) / 1000,
    propagation, negotiations, store, partition, checks,
    passed: Object.values(checks).every(Boolean),
  };
}

async function main(): Promise<number> {
  const { layout, json, keep } = options();
  const problem = namespaceSupportProblem();
  if (problem) {
    process.stderr.write(`error: ${problem}\n`);
    return 3;
  }
  const stale = removeStaleRuns();
  removeStaleDirs();
  const log = (l: string) => process.stderr.write(`${l}\n`);
  if (stale.length) log(`removed what runs ${stale.join(', ')} left behind`);
  const net = new SimNetwork();
  const runDir = join(tmpdir(), `${RUN_DIR_PREFIX}${net.runId}`);
  const world = new World(net, layout, runDir, log);
  const teardown = () => {
    for (const m of world.machines) m.closeRelays();
    net.destroy();
    if (!keep) rmSync(runDir, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      teardown();
      process.exit(130);
    });
  }
  try {
    const report = await run(layout, runDir, log, net, world);
    process.stdout.write(json ? JSON.stringify(report, null, 2) + '\n' : human(report) + '\n');
    return report.passed ? 0 : 1;
  } finally {
    teardown();
  }
}

main().then((code) => process.exit(code), (err) => {
  process.stderr.write(`error: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
