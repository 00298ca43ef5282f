/**
 * The simulated world: which machine is a seed, a renter or a host, on which
 * side of the partition line, and how they find each other. Nodes learn of
 * the network only through seeds: the seeds form a ring (each the `--peers`
 * of the next, side a's seeds first, so each side's seeds stay joined when
 * the trunk is down), and every other node has one seed of its side as
 * `--seed`. bcoin takes at most 8 inbound peers, so a seed serves at most 7
 * nodes besides its ring neighbour. bcoin's address gossip drops private
 * addresses (10.77/16 included), so no node learns of another from its
 * peers: a renter hears of a host only through its offer.
 */
import { createHash } from 'node:crypto';
import { DEVNET_PASSPHRASE } from '../../src/lib/devnet/devnet.js';
import { receiveAddress } from '../../src/lib/wallet/wallet.js';
import { Machine, until, type Role } from './machine.js';
import type { SimNetwork, Side } from './network.js';

export interface Layout {
  nodes: number;
  hosts: number;
  seeds: number;
}

/** Runs `fn` over `items`, at most `limit` at once: many nodes starting together on a few cores time out. */
export async function inBatches<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** bcoin's default maxInbound, less the ring neighbour's connection. */
const NODES_A_SEED = 7;

export const digest = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

export class World {
  readonly machines: Machine[] = [];

  constructor(readonly net: SimNetwork, readonly layout: Layout, runDir: string, private readonly log: (line: string) => void) {
    const renters = layout.nodes - layout.hosts - layout.seeds;
    const roles: Role[] = [
      ...Array<Role>(layout.seeds).fill('seed'),
      ...Array<Role>(renters).fill('renter'),
      ...Array<Role>(layout.hosts).fill('host'),
    ];
    const count: Record<Role, number> = { seed: 0, renter: 0, host: 0 };
    roles.forEach((role, i) => {
      const side: Side = i % 2 === 0 ? 'a' : 'b';
      this.machines.push(new Machine(net, i, role, side, runDir, ++count[role]));
    });
    const load = new Map<Machine, number>();
    for (const m of this.machines.filter((x) => x.role !== 'seed')) load.set(this.seedOf(m), (load.get(this.seedOf(m)) ?? 0) + 1);
    if (Math.max(...load.values()) > NODES_A_SEED) throw new Error(`a seed would serve more than ${NODES_A_SEED} nodes: use more --seeds`);
  }

  of(role: Role): Machine[] {
    return this.machines.filter((m) => m.role === role);
  }

  seedsOf(side: Side): Machine[] {
    return this.of('seed').filter((s) => s.side === side);
  }

  /** A non-seed machine's seed: its side's seeds in turn (machines alternate sides, so halve the index first). */
  private seedOf(m: Machine): Machine {
    const seeds = this.seedsOf(m.side);
    return seeds[Math.floor(m.index / 2) % seeds.length];
  }

  /** Starts a machine's node the way it first started: a seed with the next seed of the ring as its peer, the rest with their seed. */
  async startNode(m: Machine): Promise<void> {
    if (m.role !== 'seed') return m.startNode([this.seedOf(m).p2p]);
    const ring = [...this.seedsOf('a'), ...this.seedsOf('b')];
    await m.startNode([], [ring[(ring.indexOf(m) + 1) % ring.length].p2p]);
  }

  /** Namespaces, relays and nodes; seeds first so the others find them listening. */
  async build(): Promise<void> {
    process.env.CLOUDCOIN_PASSPHRASE ??= DEVNET_PASSPHRASE;
    this.net.create();
    for (const m of this.machines) this.net.addMachine(m.index, m.side);
    await inBatches(this.machines, 8, (m) => m.startRelay());
    const seeds = this.of('seed');
    await inBatches(seeds, 4, (m) => this.startNode(m));
    await inBatches(this.machines.filter((m) => m.role !== 'seed'), 4, async (m) => {
      await this.startNode(m);
      this.log(`  ${m.name} up at ${m.address} (side ${m.side})`);
    });
  }

  /** Tip hash of every running node whose chain and wallet agree, else null for it. */
  async tips(machines = this.machines): Promise<(string | null)[]> {
    return Promise.all(machines.map(async (m) => {
      try {
        const c = m.client();
        const [info, sync] = await Promise.all([c.node('GET', '/'), c.node('GET', '/cloudcoin/sync')]);
        return sync.chain === sync.wallet && sync.chain === info.chain.height ? info.chain.tip as string : null;
      } catch {
        return null;
      }
    }));
  }

  /** Waits until every machine of `machines` is at one tip (chain and wallet); returns it. */
  async converged(what: string, timeoutMs: number, machines = this.machines): Promise<string> {
    return until(what, async () => {
      const tips = await this.tips(machines);
      return tips.every((t) => t !== null && t === tips[0]) ? tips[0] : null;
    }, timeoutMs, 250);
  }

  /** Mines `n` blocks on `miner` to `address` (its own by default). */
  async mine(miner: Machine, n: number, address?: string): Promise<void> {
    const c = miner.client();
    const to = address ?? await receiveAddress(c);
    await c.rpc('generatetoaddress', [n, to]);
  }

  /** The peers' IP addresses a node has, either direction. */
  async peerIps(m: Machine): Promise<Set<string>> {
    const peers: { addr: string }[] = await m.client().rpc('getpeerinfo', []);
    return new Set(peers.map((p) => p.addr.replace(/:\d+$/, '')));
  }
}
