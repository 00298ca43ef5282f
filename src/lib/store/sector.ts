/**
 * Sectors: the unit that is encrypted and erasure-coded. Chunks are packed
 * back to back into a sector's plaintext; the sealed sector is
 *
 *   "CCS1" (4) || nonce (24) || XChaCha20-Poly1305(dataKey, nonce, plaintext, aad = "CCS1" || sectorId)
 *
 * at most SECTOR_MAX bytes, then split into n shards (k of which suffice). The
 * sector id and nonce are derived from an HMAC, under the ids key, of the ids of
 * the chunks the plaintext consists of (themselves keyed hashes of the chunks,
 * so they determine the plaintext; hashing the ids instead of the plaintext
 * saves a pass over the data). The same chunks always seal to the same bytes: an
 * interrupted push that packs the same chunks again produces the same shards,
 * and shards the hosts already acknowledged are not sent twice. That leaks only
 * equality of whole sectors, which hosts could see from shard hashes anyway.
 */
import { createHash, createHmac } from 'node:crypto';
import { CloudCoinError, ExitCode } from '../errors.js';
import { NONCE_SIZE, TAG_SIZE, openStream, sealParts, sealStream } from './aead.js';
import { dataShards, dataWriter, encodeShards, fillParity, shardViews } from './erasure.js';
import type { StoreKeys } from './keys.js';

const _MAGIC = Buffer.from('CCS1');

/** Largest sealed sector, overhead included. */
export const SECTOR_MAX = 4 * 1024 * 1024;
export const SECTOR_OVERHEAD = _MAGIC.length + NONCE_SIZE + TAG_SIZE;
/** Largest sector plaintext, and so the largest chunk. */
export const SECTOR_PLAIN_MAX = SECTOR_MAX - SECTOR_OVERHEAD;

/** Where a sector's shards are: recorded in manifests and the local index. */
export interface SectorRecord {
  /** 16 bytes, hex. */
  id: string;
  /** Length of the sealed sector in bytes (the shards carry zero padding past it). */
  size: number;
  /** Shards needed to rebuild. */
  k: number;
  /** n entries: [shard id (sha256 of the shard, hex), backend name]; index = shard number. */
  shards: [string, string][];
}

function _aad(sectorId: string): Buffer {
  return Buffer.concat([_MAGIC, Buffer.from(sectorId, 'hex')]);
}

/** The sector id and nonce for a plaintext of `length` bytes made of the chunks `chunkIds`. */
function _idAndNonce(keys: Pick<StoreKeys, 'ids'>, length: number, chunkIds: string[]): { id: string; nonce: Buffer } {
  if (length > SECTOR_PLAIN_MAX) throw new RangeError(`sector plaintext is ${length} bytes, max ${SECTOR_PLAIN_MAX}`);
  if (!Array.isArray(chunkIds) || chunkIds.length === 0) throw new TypeError('chunkIds must list the chunks of the plaintext');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(length);
  const mac = createHmac('sha256', keys.ids).update('sector').update(len).update(Buffer.from(chunkIds.join(''), 'hex')).digest();
  return { id: mac.subarray(0, 16).toString('hex'), nonce: createHmac('sha256', keys.ids).update('sector-nonce').update(mac).digest().subarray(0, NONCE_SIZE) };
}

/**
 * Seals a sector plaintext; returns its id and the sealed bytes as consecutive
 * parts. `chunkIds` must be the ids (HMAC-SHA256 under the ids key, hex) of the
 * chunks that make up `plaintext`, in order: the nonce derives from them, so
 * ids that did not match the plaintext could repeat a nonce for different data.
 */
export function sealSector(keys: Pick<StoreKeys, 'data' | 'ids'>, plaintext: Uint8Array, chunkIds: string[]): { id: string; parts: Buffer[]; size: number } {
  const { id, nonce } = _idAndNonce(keys, plaintext.length, chunkIds);
  const [body, tag] = sealParts(keys.data, nonce, plaintext, _aad(id));
  return { id, parts: [_MAGIC, nonce, body, tag], size: SECTOR_OVERHEAD + plaintext.length };
}

/**
 * sealSector then shardSector without the intermediate copies: the ciphertext
 * goes straight into the shards, in `into` when it is large enough (see
 * shardsBytes), so push can reuse one buffer sector after sector.
 */
export function sealToShards(
  keys: Pick<StoreKeys, 'data' | 'ids'>,
  plaintext: Uint8Array,
  chunkIds: string[],
  k: number,
  n: number,
  into?: Buffer,
): { id: string; size: number; ids: string[]; shards: Buffer[] } {
  const { id, nonce } = _idAndNonce(keys, plaintext.length, chunkIds);
  const size = SECTOR_OVERHEAD + plaintext.length;
  const shards = shardViews(size, k, n, into);
  const write = dataWriter(shards);
  write(_MAGIC);
  write(nonce);
  write(sealStream(keys.data, nonce, [plaintext], _aad(id), write));
  fillParity(shards, k);
  return { id, size, ids: shards.map(shardId), shards };
}

/** `bytes` [start, end) of the concatenation of `parts`, as views. */
function _range(parts: Uint8Array[], start: number, end: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pos = 0;
  for (const p of parts) {
    const a = Math.max(start, pos);
    const b = Math.min(end, pos + p.length);
    if (a < b) out.push(p.subarray(a - pos, b - pos));
    pos += p.length;
  }
  return out;
}

/**
 * Decrypts a sealed sector given as consecutive parts, into the start of
 * `into` when it is large enough; a wrong tag or framing is CloudCoinError ECORRUPT.
 */
function _openParts(keys: Pick<StoreKeys, 'data'>, id: string, parts: Uint8Array[], into?: Buffer): Buffer {
  const size = parts.reduce((s, p) => s + p.length, 0);
  const bad = () => new CloudCoinError('ECORRUPT', `sector ${id} does not decrypt: data or manifest corrupt`, ExitCode.failure);
  if (size < SECTOR_OVERHEAD) throw bad();
  const head = Buffer.concat(_range(parts, 0, _MAGIC.length + NONCE_SIZE));
  if (!head.subarray(0, _MAGIC.length).equals(_MAGIC)) throw bad();
  const plain = into && into.length >= size - SECTOR_OVERHEAD ? into.subarray(0, size - SECTOR_OVERHEAD) : Buffer.allocUnsafe(size - SECTOR_OVERHEAD);
  const tag = Buffer.concat(_range(parts, size - TAG_SIZE, size));
  if (!openStream(keys.data, head.subarray(_MAGIC.length), _range(parts, head.length, size - TAG_SIZE), tag, _aad(id), plain)) throw bad();
  return plain;
}

/** Decrypts a sealed sector; a wrong tag or framing is CloudCoinError ECORRUPT. */
export function openSector(keys: Pick<StoreKeys, 'data'>, id: string, sealed: Uint8Array): Buffer {
  return _openParts(keys, id, [sealed]);
}

/**
 * decodeShards then openSector without joining the shards: at least k shards
 * of a sealed sector of `size` bytes (null where missing), decrypted, into
 * the start of `into` if it is large enough.
 */
export function openShards(keys: Pick<StoreKeys, 'data'>, id: string, shards: (Uint8Array | null)[], k: number, size: number, into?: Buffer): Buffer {
  return _openParts(keys, id, dataShards(shards, k, size), into);
}

export function shardId(shard: Uint8Array): string {
  return createHash('sha256').update(shard).digest('hex');
}

/** Erasure-codes a sealed sector (whole, or as parts) into n shards with their ids. */
export function shardSector(sealed: Uint8Array | Uint8Array[], k: number, n: number): { ids: string[]; shards: Buffer[] } {
  const shards = encodeShards(sealed, k, n);
  return { ids: shards.map(shardId), shards };
}
