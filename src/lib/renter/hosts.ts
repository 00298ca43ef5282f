/**
 * The renter's contracted hosts as store Backends.
 *
 * The Negotiator's registry (`GET /ext/negotiator/registry`) lists every
 * contract on chain; ours are those whose renterKey is our renter key, and
 * live ones are `active`. The host's file server URL is in the host's offer
 * (the on-chain contract does not carry it), found by host key in the offer
 * pool; every URL learnt is kept in `<datadir>/store/hosts.json`, so a host
 * whose offer expired or was withdrawn is still reachable. One backend a host
 * (the newest contract with it), named by the host's identity key: manifests
 * record shard placement by that name. A renewal is used once the host has
 * carried the renewed contract's sectors over to it (the renter's daemon
 * says so in `contract list`); until then the contract it renews serves.
 * See docs/store.md.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { CloudCoinError, ExitCode } from '../errors.js';
import type { ContractInfo, ContractListItem, OfferInfo } from '../negotiator/index.js';
import type { NodeClient } from '../node/node-client.js';
import type { Backend } from '../store/index.js';
import { negotiatorApi } from './negotiator-api.js';
import { storeEngine } from './deferred.js';

/** A contracted host as the store uses it. */
export interface HostEntry {
  contractId: string;
  hostKey: string;
  url: string;
  /** Last block of the contract. */
  endHeight: number;
}

/** The hosts `hosts.json` remembers; none when it does not exist yet. */
export async function readHostBook(path: string): Promise<HostEntry[]> {
  try {
    const j = JSON.parse(await readFile(path, 'utf8'));
    return Array.isArray(j.hosts) ? j.hosts.filter((h: any) => typeof h?.contractId === 'string' && typeof h?.url === 'string' && typeof h?.hostKey === 'string') : [];
  } catch (err: any) {
    if (err.code === 'ENOENT') return [];
    throw new CloudCoinError('ESTATE', `${path} is not readable: ${err.message}`, ExitCode.failure);
  }
}

/** Replaces `hosts.json` whole, so a crash leaves the old book or the new one. */
export async function writeHostBook(path: string, hosts: HostEntry[]): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, JSON.stringify({ hosts }, null, 2) + '\n', { mode: 0o600 });
  await rename(tmp, path);
}

/**
 * This renter's live contracts, one a host, each with its file server URL.
 * Contracts whose host URL is unknown (no offer seen, none remembered) are
 * returned in `unreachable`. Only reads: rememberHosts keeps the URLs learnt.
 */
export async function contractedHosts(client: NodeClient, datadir: string, renterPublicKey: string): Promise<{ hosts: HostEntry[]; unreachable: string[] }> {
  const { storePaths } = await storeEngine();
  const [registry, offers, mine] = await Promise.all([
    negotiatorApi<{ contracts: ContractInfo[] }>(client, 'GET', '/registry'),
    negotiatorApi<{ offers: OfferInfo[] }>(client, 'GET', '/offers'),
    negotiatorApi<{ contracts: ContractListItem[] }>(client, 'GET', '/contracts?role=renter'),
  ]);
  const uncarried = new Set(mine.contracts.filter((c) => c.fulfilment?.renewal === 'negotiated').map((c) => c.fulfilment!.renewedTo));
  const book = await readHostBook(storePaths(datadir).hosts);
  const urlOf = new Map(book.map((h) => [h.contractId, h.url]));
  const offerUrl = new Map(offers.offers.filter((o) => o.url).map((o) => [o.hostKey, o.url]));
  const newest = new Map<string, ContractInfo>();
  for (const c of registry.contracts) {
    if (c.renterKey !== renterPublicKey || c.state !== 'active' || uncarried.has(c.id)) continue;
    const prev = newest.get(c.hostKey);
    if (!prev || c.endHeight > prev.endHeight) newest.set(c.hostKey, c);
  }
  const hosts: HostEntry[] = [];
  const unreachable: string[] = [];
  for (const c of newest.values()) {
    const url = offerUrl.get(c.hostKey) ?? urlOf.get(c.id);
    if (url) hosts.push({ contractId: c.id, hostKey: c.hostKey, url, endHeight: c.endHeight });
    else unreachable.push(c.id);
  }
  hosts.sort((a, b) => a.hostKey.localeCompare(b.hostKey));
  return { hosts, unreachable };
}

/** Adds `hosts` to those `hosts.json` remembers, so they stay reachable when their offers are gone. */
export async function rememberHosts(datadir: string, hosts: HostEntry[]): Promise<void> {
  const paths = (await storeEngine()).storePaths(datadir);
  const merged = new Map((await readHostBook(paths.hosts)).map((h) => [h.contractId, h]));
  for (const h of hosts) merged.set(h.contractId, h);
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  await writeHostBook(paths.hosts, [...merged.values()]);
}

/**
 * One HostBackend a contracted host, signing with `secretKey`. One client retry
 * only: the engine retries uploads itself and reads another shard instead of
 * waiting for a host that is down.
 */
export async function hostBackends(hosts: HostEntry[], secretKey: Uint8Array): Promise<Backend[]> {
  const { HostBackend } = await storeEngine();
  return hosts.map((h) => new HostBackend({ name: h.hostKey, url: h.url, contractId: h.contractId, secretKey, retries: 1 }));
}
