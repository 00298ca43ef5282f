/**
 * Snapshot manifests: what a snapshot holds (the tree, with each file's chunk
 * references), encrypted and stored whole on every backend. docs/format.md has
 * the field-by-field layout. The blob is
 *
 *   "CCM1" (4) || nonce (24) || XChaCha20-Poly1305(manifestKey, nonce, utf8 JSON, aad = "CCM1" || id)
 *
 * and its id is r (16 random bytes) || HMAC-SHA256(idsKey, "manifest" || r)[0..16].
 * With the key, a client picks its manifests out of a backend's listing without
 * downloading anything; without it, a manifest id looks like any shard id.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { CloudCoinError, ExitCode } from '../errors.js';
import { NONCE_SIZE, TAG_SIZE, open, randomNonce, seal } from './aead.js';
import type { StoreKeys } from './keys.js';
import type { SectorRecord } from './sector.js';

const _MAGIC = Buffer.from('CCM1');
export const MANIFEST_VERSION = 1;

/** [chunk id (hex, HMAC-SHA256 under the ids key), index into `sectors`, offset in the sector plaintext, length]. */
export type ChunkRef = [string, number, number, number];

/** Entry types are tar's: regular file, directory, symbolic link, hard link. */
export type EntryType = 'file' | 'directory' | 'symlink' | 'link';

export interface TreeEntry {
  /** Relative to the snapshot root, '/'-separated, never '.', '..', empty or absolute. */
  path: string;
  type: EntryType;
  /** Permission bits (mode & 0o7777). */
  mode: number;
  /** Modification time, microseconds since the Unix epoch. */
  mtime: number;
  /** Files: size in bytes. */
  size?: number;
  /** Symlinks: the link text, stored as is. Hard links: the path of the file entry it links to. */
  target?: string;
  /** Files: the chunks, in order. */
  chunks?: ChunkRef[];
}

export interface Manifest {
  version: typeof MANIFEST_VERSION;
  /** ISO 8601 time the push started. */
  time: string;
  hostname: string;
  /** Absolute source directory of the push. */
  source: string;
  tags: string[];
  /** Id of the snapshot this one was pushed after, or null. */
  parent: string | null;
  sectors: SectorRecord[];
  /** Pre-order, parents before children. */
  tree: TreeEntry[];
}

function _tag(keys: StoreKeys, r: Uint8Array): Buffer {
  return createHmac('sha256', keys.ids).update('manifest').update(r).digest().subarray(0, 16);
}

/** A fresh manifest id. */
export function newManifestId(keys: StoreKeys): string {
  const r = randomBytes(16);
  return Buffer.concat([r, _tag(keys, r)]).toString('hex');
}

/** Whether `id` is a manifest id made under these keys. */
export function isManifestId(keys: StoreKeys, id: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(id)) return false;
  const b = Buffer.from(id, 'hex');
  return timingSafeEqual(b.subarray(16), _tag(keys, b.subarray(0, 16)));
}

function _aad(id: string): Buffer {
  return Buffer.concat([_MAGIC, Buffer.from(id, 'hex')]);
}

/** Encrypts a manifest for storage under `id`; `nonce` is for golden vectors only. */
export function encodeManifest(keys: StoreKeys, id: string, m: Manifest, nonce: Uint8Array = randomNonce()): Buffer {
  validateManifest(m, id);
  const body = seal(keys.manifest, nonce, Buffer.from(JSON.stringify(m), 'utf8'), _aad(id));
  return Buffer.concat([_MAGIC, nonce, body]);
}

/** Decrypts and validates a manifest blob fetched under `id`. */
export function decodeManifest(keys: StoreKeys, id: string, blob: Uint8Array): Manifest {
  const bad = (why: string) => new CloudCoinError('EMANIFEST', `manifest ${id.slice(0, 8)}: ${why}`, ExitCode.failure);
  if (blob.length < _MAGIC.length + NONCE_SIZE + TAG_SIZE || !Buffer.from(blob.subarray(0, 4)).equals(_MAGIC)) throw bad('not a manifest');
  const plain = open(keys.manifest, blob.subarray(4, 4 + NONCE_SIZE), blob.subarray(4 + NONCE_SIZE), _aad(id));
  if (!plain) throw bad('does not decrypt (corrupt, or another key)');
  let m: unknown;
  try {
    m = JSON.parse(plain.toString('utf8'));
  } catch {
    throw bad('is not JSON');
  }
  validateManifest(m, id);
  return m;
}

const _isInt = (v: unknown, min = 0): v is number => Number.isSafeInteger(v) && (v as number) >= min;
const _HEX = (len: number) => new RegExp(`^[0-9a-f]{${len}}$`);
const _SECTOR_ID = _HEX(32);
const _SHARD_ID = _HEX(64);

/**
 * Checks the manifest's shape and internal references (sector indexes, offsets);
 * it does not judge paths, which restore checks where it writes.
 */
export function validateManifest(m: any, id = '?'): asserts m is Manifest {
  const fail = (why: string): never => {
    throw new CloudCoinError('EMANIFEST', `manifest ${id.slice(0, 8)}: ${why}`, ExitCode.failure);
  };
  if (!m || typeof m !== 'object') fail('not an object');
  if (m.version !== MANIFEST_VERSION) fail(`unsupported version ${m.version}`);
  if (typeof m.time !== 'string' || Number.isNaN(Date.parse(m.time))) fail('bad time');
  if (typeof m.hostname !== 'string' || typeof m.source !== 'string') fail('bad hostname or source');
  if (!Array.isArray(m.tags) || !m.tags.every((t: unknown) => typeof t === 'string')) fail('bad tags');
  if (m.parent !== null && !(typeof m.parent === 'string' && _SHARD_ID.test(m.parent))) fail('bad parent');
  if (!Array.isArray(m.sectors) || !Array.isArray(m.tree)) fail('sectors and tree must be arrays');
  for (const s of m.sectors) {
    const ok = s && _SECTOR_ID.test(s.id) && _isInt(s.size, 1) && _isInt(s.k, 1) && Array.isArray(s.shards) &&
      s.shards.length >= s.k && s.shards.every((x: any) => Array.isArray(x) && _SHARD_ID.test(x[0]) && typeof x[1] === 'string');
    if (!ok) fail(`bad sector record ${JSON.stringify(s?.id)}`);
  }
  const types = new Set(['file', 'directory', 'symlink', 'link']);
  for (const e of m.tree) {
    if (!e || typeof e.path !== 'string' || !types.has(e.type) || !_isInt(e.mode) || !Number.isSafeInteger(e.mtime)) {
      fail(`bad entry ${JSON.stringify(e?.path)}`);
    }
    if ((e.type === 'symlink' || e.type === 'link') && typeof e.target !== 'string') fail(`entry ${JSON.stringify(e.path)} lacks a target`);
    if (e.type !== 'file') continue;
    if (!_isInt(e.size) || !Array.isArray(e.chunks)) fail(`file ${JSON.stringify(e.path)} lacks size or chunks`);
    let total = 0;
    for (const c of e.chunks) {
      const ok = Array.isArray(c) && _SHARD_ID.test(c[0]) && _isInt(c[1]) && c[1] < m.sectors.length && _isInt(c[2]) && _isInt(c[3], 1);
      if (!ok) fail(`file ${JSON.stringify(e.path)} has a bad chunk reference`);
      total += c[3];
    }
    if (total !== e.size) fail(`file ${JSON.stringify(e.path)}: chunks add up to ${total}, size is ${e.size}`);
  }
}
