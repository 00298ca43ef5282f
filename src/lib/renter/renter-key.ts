/**
 * The renter key, and the portable form of a store that carries it.
 *
 * Requests to hosts are signed by the contract's renter key, the node's
 * Negotiator identity (`<datadir>/negotiator.key`). A key imported from
 * another machine brings that machine's renter key along (`renter.key`,
 * sealed under a key derived from the store's master key), which then takes
 * precedence. See docs/store.md.
 */
import { hkdfSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CloudCoinError, ExitCode } from '../errors.js';
import type { StoreKeys } from '../store/index.js';
import { readHostBook, writeHostBook } from './hosts.js';
import { signingKeys, storeEngine } from './deferred.js';

const _RENTER_AAD = Buffer.from('cloudcoin-store-renter-v1');
const _EXPORT_KIND = 'cloudcoin-store-export';

function _renterWrapKey(keys: StoreKeys): Buffer {
  return Buffer.from(hkdfSync('sha256', keys.manifest, Buffer.from('cloudcoin-store-v1'), 'renter-key', 32));
}

async function _sealRenter(keys: StoreKeys, secret: Uint8Array): Promise<{ nonce: string; sealed: string }> {
  const { randomNonce, seal } = await storeEngine();
  const nonce = randomNonce();
  const wk = _renterWrapKey(keys);
  const sealed = seal(wk, nonce, secret, _RENTER_AAD);
  wk.fill(0);
  return { nonce: nonce.toString('hex'), sealed: sealed.toString('hex') };
}

async function _openRenter(keys: StoreKeys, j: { nonce?: unknown; sealed?: unknown }, source: string): Promise<Buffer> {
  const bad = () => new CloudCoinError('EKEYFILE', `${source} does not hold a renter key sealed by this store key`, ExitCode.usage);
  if (typeof j?.nonce !== 'string' || typeof j?.sealed !== 'string') throw bad();
  const { open } = await storeEngine();
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
  const paths = (await storeEngine()).storePaths(datadir);
  const { IDENTITY_FILE, loadIdentity, publicKeyOf } = await signingKeys();
  if (existsSync(paths.renter)) {
    const sealed = await readFile(paths.renter, 'utf8').then(JSON.parse).catch((err) => {
      if (err instanceof SyntaxError) return null;
      throw err;
    });
    const secretKey = await _openRenter(await keys, sealed, paths.renter);
    return { secretKey, publicKey: Buffer.from(publicKeyOf(secretKey)).toString('hex'), imported: true };
  }
  if (!existsSync(join(datadir, IDENTITY_FILE))) {
    throw new CloudCoinError('ENOIDENTITY', `no Negotiator identity in ${datadir}: start the node once (cloudcoin node start), or import a store export that carries a renter key`, ExitCode.nodeNotRunning);
  }
  const id = loadIdentity(datadir);
  return { secretKey: Buffer.from(id.secretKey), publicKey: Buffer.from(id.publicKey).toString('hex'), imported: false };
}

/**
 * The portable form of a store: the key file (still under its passphrase),
 * the renter key sealed under the master key, and the hosts known so far.
 * Everything a new machine needs besides a node on the network.
 */
export async function exportStore(datadir: string, passphrase: string, newPassphrase?: string): Promise<string> {
  const { exportKey, openKey, storePaths } = await storeEngine();
  const paths = storePaths(datadir);
  const keyText = await exportKey(paths.key, passphrase, newPassphrase);
  const keys = await openKey(paths.key, passphrase);
  try {
    const renter = await renterKey(datadir, keys);
    const out = {
      kind: _EXPORT_KIND,
      version: 1,
      key: JSON.parse(keyText),
      renter: { publicKey: renter.publicKey, ...(await _sealRenter(keys, renter.secretKey)) },
      hosts: await readHostBook(paths.hosts),
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
  const { importKey, openKey, storePaths } = await storeEngine();
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
      (await _openRenter(keys, j.renter, 'the imported export')).fill(0);
    } finally {
      keys.wipe();
    }
  } finally {
    await unlink(tmpKey);
  }
  await importKey(JSON.stringify(j.key), paths.key, passphrase);
  await writeFile(paths.renter, JSON.stringify({ nonce: j.renter.nonce, sealed: j.renter.sealed }) + '\n', { mode: 0o600 });
  const hosts = Array.isArray(j.hosts) ? j.hosts : [];
  const merged = new Map((await readHostBook(paths.hosts)).map((h) => [h.contractId, h]));
  for (const h of hosts) if (typeof h?.contractId === 'string' && typeof h?.url === 'string') merged.set(h.contractId, h);
  await writeHostBook(paths.hosts, [...merged.values()]);
  return { fingerprint, renterKey: typeof j.renter.publicKey === 'string' ? j.renter.publicKey : null, hosts: hosts.length };
}
