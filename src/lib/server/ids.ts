/**
 * Identifiers and fixed sizes of the file server's wire format.
 *
 * Contract and sector ids are 32 bytes written as 64 lowercase hex characters.
 * They become path components on disk, so they are checked with one strict
 * pattern before anything else touches them: no other spelling (upper case,
 * separators, dots) can ever name a file, which rules out path traversal.
 */

export { MAX_SECTOR_SIZE, SEGMENT_SIZE } from '../crypto/merkle.js';

const ID_RE = /^[0-9a-f]{64}$/;
const PUBKEY_RE = /^0[23][0-9a-f]{64}$/;

/** True for a 64-character lowercase hex id (contract or sector). */
export function isId(value: unknown): value is string {
  return typeof value === 'string' && ID_RE.test(value);
}

/** True for a compressed secp256k1 public key written as 66 lowercase hex characters. */
export function isPubkeyHex(value: unknown): value is string {
  return typeof value === 'string' && PUBKEY_RE.test(value);
}

/** Throws a precise error unless `value` is a valid id; `what` names it in the message. */
export function checkId(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string`);
  if (!ID_RE.test(value)) throw new RangeError(`${what} must be 64 lowercase hex characters, got ${JSON.stringify(value.slice(0, 80))}`);
  return value;
}
