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
import { NONCE_SIZE, TAG_SIZE, open, sealParts } from './aead.js';
import { encodeShards } from './erasure.js';
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

/**
 * Seals a sector plaintext; returns its id and the sealed bytes as consecutive
 * parts (joined only by the erasure coder's copy). `chunkIds` must be
 * the ids (HMAC-SHA256 under the ids key, hex) of the chunks that make up
 * `plaintext`, in order: the nonce derives from them, so ids that did not match
 * the plaintext could repeat a nonce for different data.
 */
export function sealSector(keys: Pick<StoreKeys, 'data' | 'ids'>, plaintext: Uint8Array, chunkIds: string[]): { id: string; parts: Buffer[]; size: number } {
  if (plaintext.length > SECTOR_PLAIN_MAX) throw new RangeError(`sector plaintext is ${plaintext.length} bytes, max ${SECTOR_PLAIN_MAX}`);
  if (!Array.isArray(chunkIds) || chunkIds.length === 0) throw new TypeError('chunkIds must list the chunks of the plaintext');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(plaintext.length);
  const mac = createHmac('sha256', keys.ids).update('sector').update(length).update(Buffer.from(chunkIds.join(''), 'hex')).digest();
  const id = mac.subarray(0, 16).toString('hex');
  const nonce = createHmac('sha256', keys.ids).update('sector-nonce').update(mac).digest().subarray(0, NONCE_SIZE);
  const [body, tag] = sealParts(keys.data, nonce, plaintext, _aad(id));
  return { id, parts: [_MAGIC, nonce, body, tag], size: SECTOR_OVERHEAD + plaintext.length };
}

/** Decrypts a sealed sector; a wrong tag or framing is CloudCoinError ECORRUPT. */
export function openSector(keys: Pick<StoreKeys, 'data'>, id: string, sealed: Uint8Array): Buffer {
  const bad = () => new CloudCoinError('ECORRUPT', `sector ${id} does not decrypt: data or manifest corrupt`, ExitCode.failure);
  if (sealed.length < SECTOR_OVERHEAD || !Buffer.from(sealed.subarray(0, 4)).equals(_MAGIC)) throw bad();
  const nonce = sealed.subarray(4, 4 + NONCE_SIZE);
  const plain = open(keys.data, nonce, sealed.subarray(4 + NONCE_SIZE), _aad(id));
  if (!plain) throw bad();
  return plain;
}

export function shardId(shard: Uint8Array): string {
  return createHash('sha256').update(shard).digest('hex');
}

/** Erasure-codes a sealed sector (whole, or as parts) into n shards with their ids. */
export function shardSector(sealed: Uint8Array | Uint8Array[], k: number, n: number): { ids: string[]; shards: Buffer[] } {
  const shards = encodeShards(sealed, k, n);
  return { ids: shards.map(shardId), shards };
}
