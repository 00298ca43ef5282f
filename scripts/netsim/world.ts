/**
 * The simulated world: which machine is a seed, a renter or a host, on which
 * side of the partition line, and how they find each other. Nodes learn of
 * the network only through seeds: the seeds are `--peers` of each other, and
 * every other node has the seeds of its side as `--seed`. bcoin's address
 * gossip drops private addresses (10.77/16 included), so no node learns of
 * another from its peers: a renter hears of a host only through its offer.
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
  }

  of(role: Role): Machine[] {
    return this.machines.filter((m) => m.role === role);
  }

  seedsOf(side: Side): Machine[] {
    return this.of('seed').filter((s) => s.side === side);
  }

  /** Starts a machine's node the way it first started: seeds with the other seeds as peers, the rest with their side's seeds. */
  async startNode(m: Machine): Promise<void> {
    if (m.role === 'seed') await m.startNode([], this.of('seed').filter((s) => s !== m).map((s) => s.p2p));
    else await m.startNode(this.seedsOf(m.side).map((s) => s.p2p));
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
