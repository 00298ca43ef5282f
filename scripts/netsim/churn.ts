/**
 * A store push and pull while hosts come and go: 30% of the hosts (node and
 * file server) are stopped, the first renter pushes a directory k-of-n over
 * the hosts that answer, the stopped hosts come back and another 30% stop,
 * the renter pulls the snapshot into a new directory, and the two trees are
 * compared file by file. k leaves room for the second 30% to be hosts the
 * push used.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Machine } from './machine.js';
import { digest, inBatches, type World } from './world.js';

export interface StoreUnderChurn {
  hosts: number;
  /** Hosts stopped during the push, then during the pull. */
  downDuringPush: string[];
  downDuringPull: string[];
  totalShards: number;
  minShards: number;
  pushSeconds: number;
  pullSeconds: number;
  files: number;
  bytes: number;
  identical: boolean;
}

function tree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.set(relative(root, path), digest(readFileSync(path)));
    }
  };
  walk(root);
  return out;
}

function sameTree(a: Map<string, string>, b: Map<string, string>): boolean {
  return a.size === b.size && [...a].every(([path, hash]) => b.get(path) === hash);
}

async function stop(hosts: Machine[]): Promise<void> {
  await Promise.all(hosts.map(async (h) => {
    await h.stopServer();
    await h.stopNode();
  }));
}

async function restart(world: World, hosts: Machine[]): Promise<void> {
  await inBatches(hosts, 4, async (h) => {
    await world.startNode(h);
    await h.startServer();
  });
}

export async function storeUnderChurn(world: World, runDir: string, log: (l: string) => void): Promise<StoreUnderChurn> {
  const renter = world.of('renter')[0];
  const hosts = world.of('host');
  const churn = Math.max(1, Math.round(hosts.length * 0.3));
  const n = hosts.length - churn;
  const k = Math.max(1, n - churn);
  const source = join(runDir, 'source');
  mkdirSync(join(source, 'sub'), { recursive: true });
  writeFileSync(join(source, 'random.bin'), randomBytes(3_000_000));
  writeFileSync(join(source, 'zeros.bin'), Buffer.alloc(1_000_000));
  for (let i = 0; i < 20; i++) writeFileSync(join(source, 'sub', `note${i}.txt`), `note ${i} ${randomBytes(8).toString('hex')}\n`);
  await renter.cliOk(['store', 'init']);

  const first = hosts.slice(0, churn);
  const second = hosts.slice(churn, 2 * churn);
  await stop(first);
  log(`  stopped ${first.map((h) => h.name).join(', ')}; pushing ${k}-of-${n}`);
  let t0 = Date.now();
  const push = (await renter.cliOk(['store', 'push', source, '--total-shards', String(n), '--min-shards', String(k), '--json'])).json;
  const pushSeconds = (Date.now() - t0) / 1000;

  await Promise.all([restart(world, first), stop(second)]);
  log(`  restarted them, stopped ${second.map((h) => h.name).join(', ')}; pulling`);
  const target = join(runDir, 'restored');
  t0 = Date.now();
  await renter.cliOk(['store', 'pull', push.snapshot, target, '--json']);
  const pullSeconds = (Date.now() - t0) / 1000;
  await restart(world, second);

  const original = tree(source);
  const identical = sameTree(original, tree(target));
  log(`  push ${pushSeconds.toFixed(1)} s, pull ${pullSeconds.toFixed(1)} s, identical: ${identical}`);
  return {
    hosts: hosts.length,
    downDuringPush: first.map((h) => h.name),
    downDuringPull: second.map((h) => h.name),
    totalShards: n,
    minShards: k,
    pushSeconds,
    pullSeconds,
    files: original.size,
    bytes: [...original.keys()].reduce((sum, p) => sum + statSync(join(source, p)).size, 0),
    identical,
  };
}
