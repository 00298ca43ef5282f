/**
 * The store's master key: 32 random bytes, kept in a key file encrypted under a
 * passphrase, and the per-purpose keys derived from it.
 *
 * Key file (JSON, also the portable export form): the passphrase goes through
 * Argon2id (RFC 9106; DEFAULT_KDF for new keys) or, in key files from earlier
 * versions, scrypt (RFC 7914), with the parameters in the file, into a
 * 32-byte wrapping key, which seals the master key with XChaCha20-Poly1305. A
 * wrong passphrase fails the tag, so it is detected without ever touching the
 * repository. Each purpose gets its own key through HKDF-SHA256 (RFC 5869) so
 * that no key is used by two algorithms.
 */
import { hkdfSync, randomBytes, scrypt as scryptCb } from 'node:crypto';
import { chmod, link, open as openFile, readFile, unlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import { type Argon2Params, argon2id, checkArgon2Params } from '../crypto/argon2.js';
import { CloudCoinError, ExitCode } from '../errors.js';
import { NONCE_SIZE, open, randomNonce, seal } from './aead.js';

const _scrypt = promisify(scryptCb) as (pw: string, salt: Uint8Array, len: number, opts: object) => Promise<Buffer>;

export const MASTER_KEY_SIZE = 32;
const _KEYFILE_KIND = 'cloudcoin-store-key';
const _KEYFILE_AAD = Buffer.from('cloudcoin-store-key-v1');
const _HKDF_SALT = Buffer.from('cloudcoin-store-v1');

/** scrypt cost parameters; N must be a power of two. */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** How a key file turns its passphrase into the wrapping key. */
export type KdfParams = ({ name: 'argon2id' } & Argon2Params) | ({ name: 'scrypt' } & ScryptParams);

/**
 * What `store init` uses: Argon2id at RFC 9106's second recommended setting,
 * 64 MiB, 3 passes, 4 lanes. Its lanes run on threads of their own, so it
 * costs a fraction of scrypt's time at the same memory, which runs on one
 * core, and every store command waits for the key. docs/format.md, "Key
 * file", weighs the two. Older key files name their own
 * KDF and parameters, and open as before.
 */
export const DEFAULT_KDF: KdfParams = { name: 'argon2id', m: 2 ** 16, t: 3, p: 4 };

/** The JSON key file, which is also the text `exportKey` returns. */
interface KeyFileJson {
  kind: typeof _KEYFILE_KIND;
  version: 1;
  kdf: KdfParams & { salt: string };
  nonce: string;
  sealed: string;
}

/** The keys a repository works with, all derived from the master key. */
export class StoreKeys {
  /** Encrypts sectors. */
  readonly data: Buffer;
  /** Encrypts snapshot manifests. */
  readonly manifest: Buffer;
  /** Keys the chunk-id HMAC and tags manifest ids so hosts cannot recognise them. */
  readonly ids: Buffer;
  /** Seeds the chunker's gear table, so chunk boundaries differ from repository to repository. */
  readonly gear: Buffer;
  /** 8 bytes, hex: names the key without revealing it (for `store key` output). */
  readonly fingerprint: string;

  constructor(master: Uint8Array) {
    if (!(master instanceof Uint8Array) || master.length !== MASTER_KEY_SIZE) {
      throw new RangeError(`master key must be a ${MASTER_KEY_SIZE}-byte Uint8Array`);
    }
    const derive = (purpose: string, size = 32) => Buffer.from(hkdfSync('sha256', master, _HKDF_SALT, purpose, size));
    this.data = derive('data');
    this.manifest = derive('manifest');
    this.ids = derive('ids');
    this.gear = derive('gear');
    this.fingerprint = derive('fingerprint', 8).toString('hex');
  }

  /** Overwrites the key material; the object is unusable afterwards. */
  wipe(): void {
    for (const k of [this.data, this.manifest, this.ids, this.gear]) k.fill(0);
  }
}

function _checkScrypt(p: ScryptParams): void {
  const pow2 = Number.isInteger(p.N) && p.N >= 2 ** 10 && p.N <= 2 ** 20 && (p.N & (p.N - 1)) === 0;
  if (!pow2) throw new RangeError(`scrypt N must be a power of two in [2^10, 2^20], got ${p.N}`);
  if (!Number.isInteger(p.r) || p.r < 1 || p.r > 32) throw new RangeError(`scrypt r must be in [1, 32], got ${p.r}`);
  if (!Number.isInteger(p.p) || p.p < 1 || p.p > 16) throw new RangeError(`scrypt p must be in [1, 16], got ${p.p}`);
}

async function _wrappingKey(passphrase: string, salt: Uint8Array, kdf: KdfParams): Promise<Buffer> {
  const normalized = passphrase.normalize('NFKC');
  if (kdf.name === 'argon2id') return argon2id(Buffer.from(normalized, 'utf8'), salt, { m: kdf.m, t: kdf.t, p: kdf.p });
  _checkScrypt(kdf);
  return _scrypt(normalized, salt, 32, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 256 * kdf.N * kdf.r + (1 << 20) });
}

/** Throws RangeError for a KDF this version cannot run, or parameters out of bounds. */
function _checkKdf(kdf: KdfParams): void {
  if (kdf.name === 'argon2id') checkArgon2Params(kdf);
  else if (kdf.name === 'scrypt') _checkScrypt(kdf);
  else throw new RangeError(`unknown key derivation ${JSON.stringify((kdf as { name: unknown }).name)}`);
}

function _checkPassphrase(passphrase: unknown): asserts passphrase is string {
  if (typeof passphrase !== 'string' || passphrase.length === 0) throw new TypeError('passphrase must be a non-empty string');
}

function _parse(text: string, source: string): KeyFileJson {
  let j: any;
  try {
    j = JSON.parse(text);
  } catch {
    throw new CloudCoinError('EKEYFILE', `${source} is not a CloudCoin key (not JSON)`, ExitCode.usage);
  }
  const ok =
    j && j.kind === _KEYFILE_KIND && j.version === 1 && (j.kdf?.name === 'scrypt' || j.kdf?.name === 'argon2id') &&
    typeof j.kdf.salt === 'string' && typeof j.nonce === 'string' && typeof j.sealed === 'string';
  if (!ok) throw new CloudCoinError('EKEYFILE', `${source} is not a version-1 CloudCoin key`, ExitCode.usage);
  return j as KeyFileJson;
}

async function _unwrap(j: KeyFileJson, passphrase: string, source: string): Promise<Buffer> {
  const wk = await _wrappingKey(passphrase, Buffer.from(j.kdf.salt, 'base64'), j.kdf);
  const nonce = Buffer.from(j.nonce, 'base64');
  if (nonce.length !== NONCE_SIZE) throw new CloudCoinError('EKEYFILE', `${source} has a malformed nonce`, ExitCode.usage);
  const master = open(wk, nonce, Buffer.from(j.sealed, 'base64'), _KEYFILE_AAD);
  wk.fill(0);
  if (!master || master.length !== MASTER_KEY_SIZE) {
    throw new CloudCoinError('EPASSPHRASE', `wrong passphrase for ${source}`, ExitCode.auth);
  }
  return master;
}

async function _wrap(master: Uint8Array, passphrase: string, kdf: KdfParams): Promise<KeyFileJson> {
  _checkKdf(kdf);
  const salt = randomBytes(32);
  const wk = await _wrappingKey(passphrase, salt, kdf);
  const nonce = randomNonce();
  const sealed = seal(wk, nonce, master, _KEYFILE_AAD);
  wk.fill(0);
  return {
    kind: _KEYFILE_KIND,
    version: 1,
    kdf: { ...(kdf.name === 'argon2id' ? { name: kdf.name, m: kdf.m, t: kdf.t, p: kdf.p } : { name: kdf.name, N: kdf.N, r: kdf.r, p: kdf.p }), salt: salt.toString('base64') },
    nonce: nonce.toString('base64'),
    sealed: sealed.toString('base64'),
  };
}

/** Writes `text` to `path` only if nothing is there (temp file + link, so a crash leaves no half key). */
async function _writeNew(path: string, text: string): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fh = await openFile(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await link(tmp, path);
  } catch (err: any) {
    if (err.code === 'EEXIST') throw new CloudCoinError('EKEYEXISTS', `a key file already exists at ${path}`, ExitCode.conflict);
    throw err;
  } finally {
    await unlink(tmp);
  }
  await chmod(path, 0o600);
}

/**
 * Creates a new random master key, saved at `keyFile` under `passphrase`. Refuses
 * to overwrite an existing key. Returns the key's fingerprint.
 * @example
 * const { fingerprint } = await initKey('~/.cloudcoin/store.key', process.env.CLOUDCOIN_PASSPHRASE!);
 */
export async function initKey(keyFile: string, passphrase: string, kdf: KdfParams = DEFAULT_KDF): Promise<{ fingerprint: string }> {
  _checkPassphrase(passphrase);
  const master = randomBytes(MASTER_KEY_SIZE);
  const j = await _wrap(master, passphrase, kdf);
  await _writeNew(keyFile, JSON.stringify(j, null, 2) + '\n');
  const keys = new StoreKeys(master);
  master.fill(0);
  return { fingerprint: keys.fingerprint };
}

async function _readKeyFile(keyFile: string): Promise<string> {
  try {
    return await readFile(keyFile, 'utf8');
  } catch (err: any) {
    if (err.code === 'ENOENT') throw new CloudCoinError('ENOKEY', `no key file at ${keyFile}; run \`cloudcoin store init\``, ExitCode.usage);
    throw err;
  }
}

/**
 * Reads and decrypts the key file. A wrong passphrase throws CloudCoinError
 * `EPASSPHRASE` (exit code auth) and changes nothing.
 */
export async function openKey(keyFile: string, passphrase: string): Promise<StoreKeys> {
  _checkPassphrase(passphrase);
  const text = await _readKeyFile(keyFile);
  const master = await _unwrap(_parse(text, keyFile), passphrase, keyFile);
  const keys = new StoreKeys(master);
  master.fill(0);
  return keys;
}

/**
 * The key in portable text form (the key file's JSON, still encrypted), after checking
 * the passphrase. With `newPassphrase` the export is re-encrypted under that one instead.
 */
export async function exportKey(keyFile: string, passphrase: string, newPassphrase?: string): Promise<string> {
  _checkPassphrase(passphrase);
  const j = _parse(await _readKeyFile(keyFile), keyFile);
  const master = await _unwrap(j, passphrase, keyFile);
  let out = j;
  if (newPassphrase !== undefined) {
    _checkPassphrase(newPassphrase);
    out = await _wrap(master, newPassphrase, j.kdf);
  }
  master.fill(0);
  return JSON.stringify(out, null, 2) + '\n';
}

/** Saves an exported key at `keyFile` after checking that `passphrase` opens it. Refuses to overwrite. */
export async function importKey(text: string, keyFile: string, passphrase: string): Promise<{ fingerprint: string }> {
  if (typeof text !== 'string') throw new TypeError('key text must be a string');
  _checkPassphrase(passphrase);
  const j = _parse(text, 'the imported key');
  const master = await _unwrap(j, passphrase, 'the imported key');
  const keys = new StoreKeys(master);
  master.fill(0);
  await _writeNew(keyFile, JSON.stringify(j, null, 2) + '\n');
  return { fingerprint: keys.fingerprint };
}
