/**
 * The short netsim run (docs/netsim.md): 10 machines in network namespaces
 * (2 seeds, 2 renters, 6 hosts with file servers), the whole scenario, and
 * each of its checks asserted from its --json report. Before it, a
 * namespace, a bridge and a process inside as a killed run would leave
 * them; the run must remove them, and leave nothing of its own. Needs root
 * and `ip netns` (CI runs as root); without them the test fails saying so.
 */
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { namespaceSupportProblem } from '../scripts/netsim/network.js';
import { ROOT } from './util/cli.js';

const ip = (...args: string[]) => spawnSync('ip', args, { encoding: 'utf8' }).stdout ?? '';
const ours = (runId: number) => [...ip('netns', 'list').split('\n'), ...ip('-o', 'link', 'show').split('\n')].filter((l) => new RegExp(`\\bccn${runId}[a-z-]`).test(l));

/** A pid no process has: that of a process that has exited. */
function deadPid(): number {
  return spawnSync('true').pid!;
}

function stale(): { runId: number; sleeper: number } {
  const runId = deadPid();
  const ns = `ccn${runId}-0`;
  ip('netns', 'add', ns);
  ip('link', 'add', `ccn${runId}a`, 'type', 'bridge');
  const sleeper = spawn('ip', ['netns', 'exec', ns, 'sleep', '600'], { stdio: 'ignore', detached: true });
  sleeper.unref();
  return { runId, sleeper: sleeper.pid! };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('netsim --short: offers reach every node, strangers contract, store survives churn, a healed partition agrees', async (t) => {
  const problem = namespaceSupportProblem();
  if (problem) {
    t.fail(`the netsim test needs root and \`ip netns\` (CI has both): ${problem}`);
    return;
  }
  t.timeout(480_000);
  const left = stale();
  t.teardown(() => {
    if (alive(left.sleeper)) process.kill(left.sleeper, 'SIGKILL');
    ip('netns', 'del', `ccn${left.runId}-0`);
    ip('link', 'del', `ccn${left.runId}a`);
  });
  t.is(ours(left.runId).length, 2, 'the stale namespace and bridge exist before the run');

  const child = spawn(process.execPath, [join(ROOT, 'dist', 'scripts', 'netsim.js'), '--short', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGTERM');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  t.log(stderr.trim());
  t.is(code, 0, `netsim exited ${code}:\n${stderr}`);
  const r = JSON.parse(stdout);

  t.true(stderr.includes(`removed what runs ${left.runId} left behind`), 'the run says it removed the stale run');
  t.deepEqual(ours(left.runId), [], 'the stale namespace and bridge are gone');
  t.false(alive(left.sleeper), 'the process in the stale namespace was killed');
  t.deepEqual(ours(child.pid!), [], 'the run left no namespace, veth or bridge of its own');

  t.deepEqual(r.layout, { nodes: 10, hosts: 6, seeds: 2, renters: 2 });
  t.is(r.propagation.offers, 6, 'every host\'s offer reached 99% of the nodes');
  t.true(r.propagation.slowestSeconds > 0 && r.propagation.slowestSeconds < 180);
  t.is(r.negotiations.contracts, 9, 'the first renter contracted all 6 hosts, the second 3');
  t.true(r.negotiations.perSecond > 0);
  t.is(r.negotiations.neverConnected, 9, 'no renter was connected to a host it contracted before accepting its offer');
  t.deepEqual([r.store.downDuringPush.length, r.store.downDuringPull.length], [2, 2], '30% of 6 hosts down during the push, another 30% during the pull');
  t.deepEqual([r.store.minShards, r.store.totalShards], [2, 4]);
  t.true(r.store.identical, 'the pulled tree is the pushed one');
  t.true(r.partition.diverged, 'the two sides were at different tips while cut off');
  t.deepEqual(r.partition.contractsWhileCut, { losing: 10, winning: 9 }, 'the side whose chain lost held a contract the other did not');
  t.is(r.partition.contracts, 9, 'after the heal every registry has dropped that contract with the blocks it was in');
  t.is(r.partition.registryDigests, 1, 'one registry across all nodes after the heal');
  t.is(r.partition.reputationDigests, 1, 'one set of reputations across all nodes after the heal');
  t.deepEqual(r.checks, { offersReach99: true, contractsWithoutPriorConnection: true, storeIdenticalUnderChurn: true, partitionDiverged: true, identicalAfterHeal: true });
  t.true(r.passed);
});
