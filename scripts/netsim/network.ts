/**
 * The simulated network's plumbing: one network namespace a machine, each
 * with a veth pair whose outer end is a port of one of two bridges in the
 * root namespace, and a trunk veth pair joining the two bridges. Taking the
 * trunk down partitions the machines into two halves that each still work;
 * setting it up heals them. Every name carries the run's id (the pid of the
 * netsim process), so two runs cannot collide, and a run finding names of a
 * run whose process is gone removes them (and kills what runs inside) first.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/** Names start with this, then the run id; short, as a Linux interface name has at most 15 characters. */
const PREFIX = 'ccn';
/** Every address is in 10.77.0.0/16; no address of the root namespace is, so nothing outside the simulation is reached. */
const SUBNET_BITS = 16;

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Like ip(), for teardown: what is already gone is not an error. */
function ipQuiet(args: string[]): void {
  spawnSync('ip', args, { stdio: 'ignore' });
}

/** Why this machine cannot build namespaces, or null when it can. */
export function namespaceSupportProblem(): string | null {
  if (process.getuid?.() !== 0) return 'netsim builds network namespaces, veth pairs and bridges: run it as root';
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return `\`ip netns\` is not available (${r.error?.message ?? r.stderr.trim()}): install iproute2`;
  return null;
}

function isNetsimProcess(pid: number): boolean {
  const cmdline = `/proc/${pid}/cmdline`;
  return existsSync(cmdline) && readFileSync(cmdline, 'utf8').includes('netsim');
}

function killInside(ns: string): void {
  const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
  for (const pid of (r.stdout ?? '').split(/\s+/).filter(Boolean).map(Number)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function runIdOf(name: string): number | null {
  const m = new RegExp(`^${PREFIX}(\\d+)[a-z-]`).exec(name);
  return m ? Number(m[1]) : null;
}

function namespaces(): string[] {
  return ip(['netns', 'list']).split('\n').map((l) => l.split(' ')[0]).filter(Boolean);
}

function links(): string[] {
  return ip(['-o', 'link', 'show']).split('\n').map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1]).filter((n): n is string => !!n);
}

function removeRun(runId: number): void {
  const mine = (n: string) => runIdOf(n) === runId;
  for (const ns of namespaces().filter(mine)) {
    killInside(ns);
    ipQuiet(['netns', 'del', ns]);
  }
  // Deleting a namespace takes its veth pairs with it; the bridges and the trunk stay in the root namespace.
  for (const link of links().filter(mine)) ipQuiet(['link', 'del', link]);
}

/** Removes what runs that no longer exist left behind (a killed run cannot clean up after itself). */
export function removeStaleRuns(): number[] {
  const runs = new Set([...namespaces(), ...links()].map(runIdOf).filter((id): id is number => id !== null));
  const stale = [...runs].filter((id) => id !== process.pid && !isNetsimProcess(id));
  for (const id of stale) removeRun(id);
  return stale;
}

export type Side = 'a' | 'b';

export class SimNetwork {
  readonly runId = process.pid;
  private readonly bridges: Record<Side, string>;
  private readonly trunk: string;

  constructor() {
    this.bridges = { a: `${PREFIX}${this.runId}a`, b: `${PREFIX}${this.runId}b` };
    this.trunk = `${PREFIX}${this.runId}t`;
  }

  namespace(index: number): string {
    return `${PREFIX}${this.runId}-${index}`;
  }

  /** 10.77.0.1, 10.77.0.2, … skipping .0 and .255 of each /24 so no address looks like a network or broadcast one. */
  address(index: number): string {
    return `10.77.${Math.floor(index / 254)}.${(index % 254) + 1}`;
  }

  /** The bridges and the trunk joining them. */
  create(): void {
    for (const br of Object.values(this.bridges)) {
      ip(['link', 'add', br, 'type', 'bridge']);
      ip(['link', 'set', br, 'up']);
    }
    ip(['link', 'add', `${this.trunk}a`, 'type', 'veth', 'peer', 'name', `${this.trunk}b`]);
    ip(['link', 'set', `${this.trunk}a`, 'master', this.bridges.a, 'up']);
    ip(['link', 'set', `${this.trunk}b`, 'master', this.bridges.b, 'up']);
  }

  /** A machine's namespace, its loopback, and its link to the bridge of its side. */
  addMachine(index: number, side: Side): void {
    const ns = this.namespace(index);
    const outer = `${PREFIX}${this.runId}v${index}`;
    ip(['netns', 'add', ns]);
    ip(['link', 'add', outer, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    ip(['link', 'set', outer, 'master', this.bridges[side], 'up']);
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    ip(['-n', ns, 'addr', 'add', `${this.address(index)}/${SUBNET_BITS}`, 'dev', 'eth0']);
    ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
  }

  /** The command line that runs `argv` inside a machine's namespace. */
  exec(index: number, argv: string[]): [string, string[]] {
    return ['ip', ['netns', 'exec', this.namespace(index), ...argv]];
  }

  partition(): void {
    ip(['link', 'set', `${this.trunk}a`, 'down']);
  }

  heal(): void {
    ip(['link', 'set', `${this.trunk}a`, 'up']);
  }

  /** Kills every process in the run's namespaces and removes the namespaces, veths and bridges. */
  destroy(): void {
    removeRun(this.runId);
  }
}
