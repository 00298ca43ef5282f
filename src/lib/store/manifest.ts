/**
 * Snapshot manifests. A snapshot is stored in two parts (docs/format.md has the
 * field-by-field layout):
 *
 * - the body: the tree (one JSON line per entry, with each file's chunk
 *   references) followed by the records of the sectors those chunks live in.
 *   It is chunked and stored like file data, so an unchanged tree costs nothing
 *   to push again and a small change costs a chunk or two;
 * - the header: a small JSON object (time, tags, parent, counts, and where the
 *   body's chunks are), encrypted and stored whole on every backend:
 *
 *   "CCM1" (4) || nonce (24) || XChaCha20-Poly1305(manifestKey, nonce, utf8 JSON, aad = "CCM1" || id)
 *
 * The header id is r (16 random bytes) || HMAC-SHA256(idsKey, "manifest" || r)[0..16].
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

/** [chunk id (hex HMAC-SHA256 of the plaintext under the ids key), sector id, offset in the sector plaintext, length]. */
export type ChunkRef = [string, string, number, number];

/** Entry types are tar's: regular file, directory, symbolic link, hard link. */
export type EntryType = 'file' | 'directory' | 'symlink' | 'link';

export interface TreeEntry {
  /** Relative to the snapshot root, '/'-separated; restore refuses '..', '.', empty components and absolute paths. */
  path: string;
  type: EntryType;
  /** Permission bits (mode & 0o7777). */
  mode: number;
  /** Modification time, microseconds since the Unix epoch. */
  mtime: number;
  /** Owner and group ids (absent in snapshots made before they were stored); restored only by root, as tar does. */
  uid?: number;
  gid?: number;
  /** Files: size in bytes. */
  size?: number;
  /** Symlinks: the link text, stored as is. Hard links: the path of the file entry it links to. */
  target?: string;
  /** Files: the chunks, in order. */
  chunks?: ChunkRef[];
}

/** The encrypted object stored on every backend under the snapshot id. */
export interface ManifestHeader {
  version: typeof MANIFEST_VERSION;
  /** ISO 8601 time the push started. */
  time: string;
  hostname: string;
  /** Absolute source directory of the push. */
  source: string;
  tags: string[];
  /** Id of the snapshot this one followed, or null. */
  parent: string | null;
  /** Entries in the tree and content bytes of its files (so listing needs no body). */
  files: number;
  bytes: number;
  /** The body's chunks, in order, and the sectors holding them. */
  body: { size: number; chunks: ChunkRef[] };
  sectors: SectorRecord[];
}

/** A snapshot with its body read: the header, the tree, and every sector the tree uses. */
export interface Snapshot {
  id: string;
  header: ManifestHeader;
  tree: TreeEntry[];
  sectors: SectorRecord[];
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

const _fail = (id: string, why: string): never => {
  throw new CloudCoinError('EMANIFEST', `manifest ${id.slice(0, 8)}: ${why}`, ExitCode.failure);
};

/** Encrypts a header for storage under `id`; `nonce` is for golden vectors only. */
export function encodeHeader(keys: StoreKeys, id: string, h: ManifestHeader, nonce: Uint8Array = randomNonce()): Buffer {
  validateHeader(h, id);
  const body = seal(keys.manifest, nonce, Buffer.from(JSON.stringify(h), 'utf8'), _aad(id));
  return Buffer.concat([_MAGIC, nonce, body]);
}

/** Decrypts and validates a header blob fetched under `id`. */
export function decodeHeader(keys: StoreKeys, id: string, blob: Uint8Array): ManifestHeader {
  if (blob.length < _MAGIC.length + NONCE_SIZE + TAG_SIZE || !Buffer.from(blob.subarray(0, 4)).equals(_MAGIC)) _fail(id, 'not a manifest');
  const plain = open(keys.manifest, blob.subarray(4, 4 + NONCE_SIZE), blob.subarray(4 + NONCE_SIZE), _aad(id));
  if (!plain) return _fail(id, 'does not decrypt (corrupt, or another key)');
  let h: unknown;
  try {
    h = JSON.parse(plain.toString('utf8'));
  } catch {
    _fail(id, 'is not JSON');
  }
  validateHeader(h, id);
  return h;
}

/** The body: one JSON line per tree entry, then one `{"sector": …}` line per sector. */
export function encodeBody(tree: TreeEntry[], sectors: SectorRecord[]): Buffer {
  const lines = tree.map((e) => JSON.stringify(e));
  for (const s of sectors) lines.push(JSON.stringify({ sector: s }));
  return Buffer.from(lines.join('\n') + '\n', 'utf8');
}

/** Parses and validates a body; every chunk must point into a listed sector. */
export function decodeBody(id: string, body: Uint8Array): { tree: TreeEntry[]; sectors: SectorRecord[] } {
  const tree: TreeEntry[] = [];
  const sectors: SectorRecord[] = [];
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let v: any;
    try {
      v = JSON.parse(line);
    } catch {
      _fail(id, 'body line is not JSON');
    }
    if (v && typeof v === 'object' && 'sector' in v) sectors.push(v.sector);
    else tree.push(v);
  }
  sectors.forEach((s) => _checkSector(id, s));
  const known = new Set(sectors.map((s) => s.id));
  tree.forEach((e) => _checkEntry(id, e, known));
  return { tree, sectors };
}

const _isInt = (v: unknown, min = 0): v is number => Number.isSafeInteger(v) && (v as number) >= min;
const _SECTOR_ID = /^[0-9a-f]{32}$/;
const _ID = /^[0-9a-f]{64}$/;
const _TYPES = new Set(['file', 'directory', 'symlink', 'link']);

function _checkSector(id: string, s: any): void {
  const ok = s && _SECTOR_ID.test(s.id) && _isInt(s.size, 1) && _isInt(s.k, 1) && Array.isArray(s.shards) && s.shards.length >= s.k &&
    s.shards.every((x: any) => Array.isArray(x) && _ID.test(x[0]) && typeof x[1] === 'string');
  if (!ok) _fail(id, `bad sector record ${JSON.stringify(s?.id)}`);
}

function _checkChunks(id: string, what: string, chunks: any, size: any, known: Set<string>): void {
  if (!_isInt(size) || !Array.isArray(chunks)) _fail(id, `${what} lacks size or chunks`);
  let total = 0;
  for (const c of chunks) {
    const ok = Array.isArray(c) && c.length === 4 && _ID.test(c[0]) && known.has(c[1]) && _isInt(c[2]) && _isInt(c[3], 1);
    if (!ok) _fail(id, `${what} has a bad chunk reference`);
    total += c[3];
  }
  if (total !== size) _fail(id, `${what}: chunks add up to ${total}, size is ${size}`);
}

function _checkEntry(id: string, e: any, known: Set<string>): void {
  if (!e || typeof e.path !== 'string' || !_TYPES.has(e.type) || !_isInt(e.mode) || e.mode > 0o7777 || !Number.isSafeInteger(e.mtime)) {
    _fail(id, `bad entry ${JSON.stringify(e?.path)}`);
  }
  if ((e.uid !== undefined && !_isInt(e.uid)) || (e.gid !== undefined && !_isInt(e.gid))) _fail(id, `entry ${JSON.stringify(e.path)} has a bad uid or gid`);
  if ((e.type === 'symlink' || e.type === 'link') && typeof e.target !== 'string') _fail(id, `entry ${JSON.stringify(e.path)} lacks a target`);
  if (e.type === 'file') _checkChunks(id, `file ${JSON.stringify(e.path)}`, e.chunks, e.size, known);
}

/** Checks a header's shape; throws CloudCoinError EMANIFEST naming the problem. */
export function validateHeader(h: any, id = '?'): asserts h is ManifestHeader {
  if (!h || typeof h !== 'object') _fail(id, 'not an object');
  if (h.version !== MANIFEST_VERSION) _fail(id, `unsupported version ${h.version}`);
  if (typeof h.time !== 'string' || Number.isNaN(Date.parse(h.time))) _fail(id, 'bad time');
  if (typeof h.hostname !== 'string' || typeof h.source !== 'string') _fail(id, 'bad hostname or source');
  if (!Array.isArray(h.tags) || !h.tags.every((t: unknown) => typeof t === 'string')) _fail(id, 'bad tags');
  if (h.parent !== null && !(typeof h.parent === 'string' && _ID.test(h.parent))) _fail(id, 'bad parent');
  if (!_isInt(h.files) || !_isInt(h.bytes)) _fail(id, 'bad counts');
  if (!Array.isArray(h.sectors) || !h.body || typeof h.body !== 'object') _fail(id, 'lacks body or sectors');
  h.sectors.forEach((s: unknown) => _checkSector(id, s));
  _checkChunks(id, 'body', h.body.chunks, h.body.size, new Set(h.sectors.map((s: SectorRecord) => s.id)));
}
