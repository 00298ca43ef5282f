/**
 * Contracts on a devnet: every host offers storage with its file server's
 * URL, the renter accepts each offer, a block funds them, and the nodes wait
 * until every contract is active, so `cloudcoin store` can use the hosts
 * at once. Hosts the renter already has an active contract with are skipped.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CloudCoinError } from '../errors.js';
import { acceptOffer, createOffer, listContracts, listOffers } from '../renter/index.js';
import { NodeClient } from '../node/node-client.js';
import type { Participant } from './participant.js';

export interface DevnetContract {
  host: string;
  contractId: string;
  url: string;
}

/** What every host offers (price and collateral per GiB-month, sizes, durations in blocks, validity in seconds) and what the renter takes. */
export interface DevnetTerms {
  offer: { price: number; collateral: number; minSize: number; maxSize: number; minDuration: number; maxDuration: number; validity: number };
  take: { size: number; duration: number };
}

/**
 * The devnet's own terms: 0.001 CC per GiB-month, twice that collateral, up
 * to 100 GiB for up to a year offered; 1 GiB for 30 days of blocks taken.
 */
export const DEVNET_TERMS: DevnetTerms = {
  offer: { price: 100_000, collateral: 200_000, minSize: 1 << 20, maxSize: 100 * 2 ** 30, minDuration: 10, maxDuration: 52_560, validity: 30 * 86_400 },
  take: { size: 2 ** 30, duration: 4_320 },
};

async function _until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new CloudCoinError('EDEVNET', `${what} did not happen within ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}

/**
 * Waits until `host` has the renter as a peer of its own, dialling it again
 * while it has not: a negotiation goes from node to node and is not relayed,
 * and a host that reached the devnet only through another host never hears
 * the renter's proposal.
 */
export async function peerWithRenter(host: Participant, renter: Participant): Promise<void> {
  const hc = NodeClient.connect(host.datadir);
  const addr = `127.0.0.1:${renter.port}`;
  await _until(`${host.name} connecting to the renter's node`, async () => {
    const peers: { addr: string }[] = await hc.rpc('getpeerinfo', []);
    if (peers.some((p) => p.addr === addr)) return true;
    await hc.rpc('addnode', [addr, 'onetry']);
    return false;
  });
}

async function _hostKey(p: Participant): Promise<string> {
  return (await NodeClient.connect(p.datadir).node('GET', '/ext/negotiator/identity')).key;
}

/** Contracts the renter with every host of `participants` on `terms` (short ones let a test mine through a whole contract). */
export async function contractDevnetHosts(participants: Participant[], terms: DevnetTerms = DEVNET_TERMS): Promise<DevnetContract[]> {
  const renter = participants.find((p) => p.role === 'renter')!;
  const hosts = participants.filter((p) => p.role === 'host' && p.serverUrl);
  const rc = NodeClient.connect(renter.datadir);
  const keys = new Map(await Promise.all(hosts.map(async (h) => [h.name, await _hostKey(h)] as const)));
  const active = async () => (await listContracts(rc, 'renter')).contracts.filter((c) => c.state === 'active');
  const have = new Set((await active()).map((c) => c.hostKey));
  const todo = hosts.filter((h) => !have.has(keys.get(h.name)!));
  // Every host (re)publishes its offer, so its URL is current after a restart.
  const offers = await Promise.all(hosts.map(async (h) => (await createOffer(NodeClient.connect(h.datadir), { ...terms.offer, url: h.serverUrl!, host: { capacity: terms.offer.maxSize } })).offer.hash));
  await _until('the renter seeing every offer', async () => {
    const seen = new Set((await listOffers(rc, {})).map((o) => o.hash));
    return offers.every((o) => seen.has(o));
  });
  for (const h of todo) {
    await peerWithRenter(h, renter);
    await acceptOffer(rc, { offer: offers[hosts.indexOf(h)], ...terms.take, timeout: 30_000 });
  }
  if (todo.length > 0) {
    const height = (await rc.node('GET', '/')).chain.height;
    await rc.rpc('generatetoaddress', [1, renter.address]);
    let polls = 0;
    await _until('every contract active', async () => {
      // A funding transaction that reached the renter's mempool after the block was made
      // waits for the next one: make one every few seconds until every contract is in.
      if (++polls % 25 === 0) await rc.rpc('generatetoaddress', [1, renter.address]);
      const all = await Promise.all(hosts.map(async (h) => (await listContracts(NodeClient.connect(h.datadir), 'host')).contracts.filter((c) => c.state === 'active').length > 0));
      const tips = await Promise.all(participants.map(async (p) => (await NodeClient.connect(p.datadir).node('GET', '/')).chain.height));
      return all.every(Boolean) && tips.every((t) => t > height) && (await active()).length >= hosts.length;
    });
  }
  const mine = await active();
  return hosts.map((h) => {
    const c = mine.find((x) => x.hostKey === keys.get(h.name))!;
    return { host: h.name, contractId: c.id, url: h.serverUrl! };
  });
}
