/**
 * The store on a real network: the renter node's contracts as Backends, and
 * the files in `<datadir>/store/` that let another machine take over.
 *
 * Hosts: the Negotiator's registry (`GET /ext/negotiator/registry`) lists every
 * contract on chain; ours are those whose renterKey is our renter key, and
 * live ones are `active`. The host's file server URL is in the host's offer
 * (the on-chain contract does not carry it), found by host key in the offer
 * pool; every URL learnt is kept in `hosts.json`, so a host whose offer
 * expired or was withdrawn is still reachable. One backend a host (the
 * newest contract with it), named by the host's identity key: manifests
 * record shard placement by that name.
 *
 * Renter key: requests to hosts are signed by the contract's renter key,
 * the node's Negotiator identity (`<datadir>/negotiator.key`). A key
 * imported from another machine brings that machine's renter key along
 * (`renter.key`, sealed under a key derived from the store's master key),
 * which then takes precedence. See docs/store.md.
 */
import { hkdfSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { publicKeyOf } from '../crypto/sig.js';
import { CloudCoinError, ExitCode } from '../errors.js';
import type { ContractInfo } from '../negotiator/entries.js';
import { IDENTITY_FILE, loadIdentity } from '../negotiator/identity.js';
import type { NodeClient } from '../node/client.js';
import { negotiatorApi } from '../negotiator/client.js';
import type { OfferInfo } from '../negotiator/index.js';
import { open, randomNonce, seal } from './aead.js';
import { HostBackend } from './backends/host.js';
import { exportKey, importKey, openKey, type StoreKeys } from './keys.js';
import { storePaths } from './paths.js';

export { storePaths, type StorePaths } from './paths.js';

/** A contracted host as the store uses it. */
export interface HostEntry {
  contractId: string;
  hostKey: string;
  url: string;
  /** Last block of the contract. */
  endHeight: number;
}

const _RENTER_AAD = Buffer.from('cloudcoin-store-renter-v1');
const _EXPORT_KIND = 'cloudcoin-store-export';

function _renterWrapKey(keys: StoreKeys): Buffer {
  return Buffer.from(hkdfSync('sha256', keys.manifest, Buffer.from('cloudcoin-store-v1'), 'renter-key', 32));
}

function _sealRenter(keys: StoreKeys, secret: Uint8Array): { nonce: string; sealed: string } {
  const nonce = randomNonce();
  const wk = _renterWrapKey(keys);
  const sealed = seal(wk, nonce, secret, _RENTER_AAD);
  wk.fill(0);
  return { nonce: nonce.toString('hex'), sealed: sealed.toString('hex') };
}

function _openRenter(keys: StoreKeys, j: { nonce?: unknown; sealed?: unknown }, source: string): Buffer {
  const bad = () => new CloudCoinError('EKEYFILE', `${source} does not hold a renter key sealed by this store key`, ExitCode.usage);
  if (typeof j?.nonce !== 'string' || typeof j?.sealed !== 'string') throw bad();
  const wk = _renterWrapKey(keys);
  const secret = open(wk, Buffer.from(j.nonce, 'hex'), Buffer.from(j.sealed, 'hex'), _RENTER_AAD);
  wk.fill(0);
  if (!secret || secret.length !== 32) throw bad();
  return secret;
}

/**
 * The renter key requests to hosts are signed with: an imported one, else the
 * node's identity. Only an imported one needs the store's keys, so only then
 * does this wait for them.
 */
export async function renterKey(datadir: string, keys: StoreKeys | Promise<StoreKeys>): Promise<{ secretKey: Buffer; publicKey: string; imported: boolean }> {
  const paths = storePaths(datadir);
  if (existsSync(paths.renter)) {
    const secretKey = _openRenter(await keys, JSON.parse(await readFile(paths.renter, 'utf8')), paths.renter);
    return { secretKey, publicKey: Buffer.from(publicKeyOf(secretKey)).toString('hex'), imported: true };
  }
  if (!existsSync(join(datadir, IDENTITY_FILE))) {
    throw new CloudCoinError('ENOIDENTITY', `no Negotiator identity in ${datadir}: start the node once (cloudcoin node start), or import a store export that carries a renter key`, ExitCode.nodeNotRunning);
  }
  const id = loadIdentity(datadir);
  return { secretKey: Buffer.from(id.secretKey), publicKey: Buffer.from(id.publicKey).toString('hex'), imported: false };
}

async function _readBook(path: string): Promise<HostEntry[]> {
  try {
    const j = JSON.parse(await readFile(path, 'utf8'));
    return Array.isArray(j.hosts) ? j.hosts.filter((h: any) => typeof h?.contractId === 'string' && typeof h?.url === 'string' && typeof h?.hostKey === 'string') : [];
  } catch (err: any) {
    if (err.code === 'ENOENT') return [];
    throw new CloudCoinError('ESTATE', `${path} is not readable: ${err.message}`, ExitCode.failure);
  }
}

async function _writeBook(path: string, hosts: HostEntry[]): Promise<void> {
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
  const paths = storePaths(datadir);
  const [registry, offers] = await Promise.all([
    negotiatorApi<{ contracts: ContractInfo[] }>(client, 'GET', '/registry'),
    negotiatorApi<{ offers: OfferInfo[] }>(client, 'GET', '/offers'),
  ]);
  const book = await _readBook(paths.hosts);
  const urlOf = new Map(book.map((h) => [h.contractId, h.url]));
  const offerUrl = new Map(offers.offers.filter((o) => o.url).map((o) => [o.hostKey, o.url]));
  const newest = new Map<string, ContractInfo>();
  for (const c of registry.contracts) {
    if (c.renterKey !== renterPublicKey || c.state !== 'active') continue;
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
  const paths = storePaths(datadir);
  const merged = new Map((await _readBook(paths.hosts)).map((h) => [h.contractId, h]));
  for (const h of hosts) merged.set(h.contractId, h);
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  await _writeBook(paths.hosts, [...merged.values()]);
}

/**
 * One HostBackend a contracted host, signing with `secretKey`. One client retry
 * only: the engine retries uploads itself and reads another shard instead of
 * waiting for a host that is down.
 */
export function hostBackends(hosts: HostEntry[], secretKey: Uint8Array): HostBackend[] {
  return hosts.map((h) => new HostBackend({ name: h.hostKey, url: h.url, contractId: h.contractId, secretKey, retries: 1 }));
}

/**
 * The portable form of a store: the key file (still under its passphrase),
 * the renter key sealed under the master key, and the hosts known so far.
 * Everything a new machine needs besides a node on the network.
 */
export async function exportStore(datadir: string, passphrase: string, newPassphrase?: string): Promise<string> {
  const paths = storePaths(datadir);
  const keyText = await exportKey(paths.key, passphrase, newPassphrase);
  const keys = await openKey(paths.key, passphrase);
  try {
    const renter = await renterKey(datadir, keys);
    const out = {
      kind: _EXPORT_KIND,
      version: 1,
      key: JSON.parse(keyText),
      renter: { publicKey: renter.publicKey, ..._sealRenter(keys, renter.secretKey) },
      hosts: await _readBook(paths.hosts),
    };
    renter.secretKey.fill(0);
    return JSON.stringify(out, null, 2) + '\n';
  } finally {
    keys.wipe();
  }
}

/**
 * Installs an export in `datadir`: the key file, then the renter key and the
 * hosts. A bare key file (from `store init` elsewhere) is accepted too: the
 * node's own identity is then the renter key. Refuses to overwrite a key.
 */
export async function importStore(text: string, datadir: string, passphrase: string): Promise<{ fingerprint: string; renterKey: string | null; hosts: number }> {
  const paths = storePaths(datadir);
  let j: any;
  try {
    j = JSON.parse(text);
  } catch {
    throw new CloudCoinError('EKEYFILE', 'the imported text is not a CloudCoin key (not JSON)', ExitCode.usage);
  }
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  if (j?.kind !== _EXPORT_KIND) {
    const { fingerprint } = await importKey(text, paths.key, passphrase);
    return { fingerprint, renterKey: null, hosts: 0 };
  }
  if (j.version !== 1 || typeof j.key !== 'object') throw new CloudCoinError('EKEYFILE', 'the imported text is not a version-1 CloudCoin store export', ExitCode.usage);
  // Check the passphrase and the sealed renter key before writing anything.
  const tmpKey = `${paths.key}.import-check`;
  const { fingerprint } = await importKey(JSON.stringify(j.key), tmpKey, passphrase);
  try {
    const keys = await openKey(tmpKey, passphrase);
    try {
      _openRenter(keys, j.renter, 'the imported export').fill(0);
    } finally {
      keys.wipe();
    }
  } finally {
    await unlink(tmpKey);
  }
  await importKey(JSON.stringify(j.key), paths.key, passphrase);
  await writeFile(paths.renter, JSON.stringify({ nonce: j.renter.nonce, sealed: j.renter.sealed }) + '\n', { mode: 0o600 });
  const hosts = Array.isArray(j.hosts) ? j.hosts : [];
  const merged = new Map((await _readBook(paths.hosts)).map((h) => [h.contractId, h]));
  for (const h of hosts) if (typeof h?.contractId === 'string' && typeof h?.url === 'string') merged.set(h.contractId, h);
  await _writeBook(paths.hosts, [...merged.values()]);
  return { fingerprint, renterKey: typeof j.renter.publicKey === 'string' ? j.renter.publicKey : null, hosts: hosts.length };
}
