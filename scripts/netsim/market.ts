/**
 * The market on the simulated network: coins for everyone, every host's
 * offer flooded to every node (timed), and renters contracting hosts they
 * were never connected to (`contract accept` dials the address the offer
 * carries), timed as negotiations a second.
 */
import { DEVNET_TERMS } from '../../src/lib/devnet/contracts.js';
import { acceptOffer, createOffer, listContracts, listOffers } from '../../src/lib/renter/index.js';
import { receiveAddress } from '../../src/lib/wallet/wallet.js';
import { until, type Machine } from './machine.js';
import { inBatches, type World } from './world.js';

const COINBASE_MATURITY = 100;

export interface Propagation {
  offers: number;
  /** Seconds from a host's offer being accepted by its node to 99% of nodes listing it: the slowest offer, and the median one. */
  slowestSeconds: number;
  medianSeconds: number;
}

export interface Negotiations {
  contracts: number;
  seconds: number;
  perSecond: number;
  /** Contracts whose renter and host had no connection between them, either way, when the renter accepted. */
  neverConnected: number;
}

/** Which hosts each renter contracts: the first renter (the one that stores) every host, the others up to three each. */
export function plan(world: World): Map<Machine, Machine[]> {
  const hosts = world.of('host');
  return new Map(world.of('renter').map((r, i) => [r, i === 0 ? hosts : Array.from({ length: Math.min(3, hosts.length) }, (_, j) => hosts[(i * 3 + j) % hosts.length])]));
}

/** A coinbase for every contract a renter funds (a change output is unconfirmed until the next block), two for each host, then maturity. */
export async function fund(world: World, contracts: Map<Machine, Machine[]>): Promise<void> {
  const miner = world.of('seed')[0];
  for (const m of world.machines) {
    const blocks = m.role === 'renter' ? contracts.get(m)!.length + 1 : m.role === 'host' ? 2 : 1;
    await world.mine(miner, blocks, await receiveAddress(m.client()));
  }
  await world.mine(miner, COINBASE_MATURITY);
  await world.converged('every node at the funded tip', 300_000);
}

/** Every host offers storage at its file server; returns each offer's hash and how fast it reached 99% of nodes. */
export async function publishOffers(world: World, log: (l: string) => void): Promise<{ offers: Map<Machine, string>; propagation: Propagation }> {
  const hosts = world.of('host');
  await inBatches(hosts, 4, (h) => h.startServer());
  const need = Math.ceil(world.machines.length * 0.99);
  const posted = new Map<string, number>();
  const reached = new Map<string, number>();
  const offers = new Map<Machine, string>();
  let publishing = true;
  let deadline = Infinity;
  const watch = (async () => {
    while (publishing || (reached.size < posted.size && Date.now() < deadline)) {
      const lists = await Promise.all(world.machines.map((m) => listOffers(m.client(), {}).catch(() => [])));
      const now = Date.now();
      for (const [hash, t0] of posted) {
        if (reached.has(hash)) continue;
        if (lists.filter((l) => l.some((o) => o.hash === hash)).length >= need) reached.set(hash, (now - t0) / 1000);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    await inBatches(hosts, 4, async (h) => {
      const { offer } = await createOffer(h.client(), { ...DEVNET_TERMS.offer, url: h.serverUrl, host: { capacity: DEVNET_TERMS.offer.maxSize } });
      posted.set(offer.hash, Date.now());
      offers.set(h, offer.hash);
    });
  } finally {
    deadline = Date.now() + 180_000;
    publishing = false;
    await watch;
  }
  if (reached.size < posted.size) throw new Error(`${posted.size - reached.size} of ${posted.size} offers did not reach 99% of nodes within 180 s`);
  const times = [...reached.values()].sort((a, b) => a - b);
  log(`  ${times.length} offers at 99% of ${world.machines.length} nodes; slowest ${times[times.length - 1].toFixed(2)} s`);
  return { offers, propagation: { offers: times.length, slowestSeconds: times[times.length - 1], medianSeconds: times[Math.floor(times.length / 2)] } };
}

/**
 * Every renter accepts its hosts' offers, one after another (each funds from
 * a coin of its own), the renters at once; then a block funds the contracts
 * and every one becomes active on both sides.
 */
export async function negotiate(world: World, contracts: Map<Machine, Machine[]>, offers: Map<Machine, string>, log: (l: string) => void): Promise<Negotiations> {
  let neverConnected = 0;
  let count = 0;
  const t0 = Date.now();
  await Promise.all([...contracts].map(async ([renter, hosts]) => {
    for (const host of hosts) {
      const [mine, theirs] = await Promise.all([world.peerIps(renter), world.peerIps(host)]);
      if (!mine.has(host.address) && !theirs.has(renter.address)) neverConnected++;
      await acceptOffer(renter.client(), { offer: offers.get(host)!, ...DEVNET_TERMS.take, timeout: 120_000 });
      count++;
    }
  }));
  const seconds = (Date.now() - t0) / 1000;
  log(`  ${count} contracts negotiated in ${seconds.toFixed(1)} s; ${neverConnected} between nodes never connected before`);
  const miner = world.of('seed')[0];
  await world.mine(miner, 1);
  let polls = 0;
  await until('every contract active on its renter and its host', async () => {
    // A funding transaction that reached the miner after its block waits for the next one.
    if (++polls % 20 === 0) await world.mine(miner, 1);
    const active = async (m: Machine, as: 'renter' | 'host') => (await listContracts(m.client(), as)).contracts.filter((c) => c.state === 'active').length;
    const renters = await Promise.all([...contracts].map(async ([r, hs]) => (await active(r, 'renter')) >= hs.length));
    const hosts = await Promise.all(world.of('host').map(async (h) => (await active(h, 'host')) >= [...contracts.values()].filter((hs) => hs.includes(h)).length));
    return renters.every(Boolean) && hosts.every(Boolean);
  }, 300_000, 500);
  return { contracts: count, seconds, perSecond: count / seconds, neverConnected };
}
