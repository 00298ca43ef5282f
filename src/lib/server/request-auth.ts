/**
 * Signed requests: what a renter signs, the headers that carry it, and the
 * replay guard. The byte layout is specified in docs/server.md ("Request
 * signatures"); this file is its only implementation, shared by client and server.
 *
 * Version 2 signs, besides version 1's fields, the two request parts that
 * change a GET's or a PROOF's answer: the Range header and the segment index.
 * The server still takes version 1 for requests that carry neither (authorize.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { publicKeyOf, signRandomized, verify } from '../crypto/sig.js';
import { checkId } from './ids.js';

export type AuthVersion = 1 | 2;
export const AUTH_VERSION: AuthVersion = 2;

/** Each version signs under its own domain, so a signature of one never verifies as the other. */
export const REQUEST_DOMAINS: Record<AuthVersion, string> = { 1: 'cloudcoin/sector-request/v1', 2: 'cloudcoin/sector-request/v2' };

/** What a signature authorizes; LIST, PROOF and ROOTS are GETs that must not be swapped for each other. */
export type Operation = 'PUT' | 'GET' | 'DELETE' | 'LIST' | 'PROOF' | 'ROOTS' | 'REVISION' | 'CARRY';
const OPERATIONS: readonly Operation[] = ['PUT', 'GET', 'DELETE', 'LIST', 'PROOF', 'ROOTS', 'REVISION', 'CARRY'];

export const HEADER = {
  key: 'x-cloudcoin-key',
  timestamp: 'x-cloudcoin-timestamp',
  nonce: 'x-cloudcoin-nonce',
  bodySha256: 'x-cloudcoin-body-sha256',
  signature: 'x-cloudcoin-signature',
  /** Absent for version 1, which predates it. */
  version: 'x-cloudcoin-auth-version',
} as const;

export const NONCE_SIZE = 16;
export const EMPTY_SHA256 = createHash('sha256').digest('hex');
/** The longest Range header a signature can cover (its length is one byte of the message). */
export const MAX_SIGNED_RANGE = 255;
const NO_SEGMENT = 0xffffffff;

export interface SignedFields {
  contractId: string;
  /** null for requests about the whole contract (LIST, ROOTS, REVISION, CARRY); signed as 32 zero bytes. */
  sectorId: string | null;
  operation: Operation;
  /** sha256 of the body, 64 hex; EMPTY_SHA256 when there is none. */
  bodySha256: string;
  /** Milliseconds since the Unix epoch. */
  timestamp: number;
  /** 32 hex characters (16 random bytes). */
  nonce: string;
  /** A GET's Range header exactly as sent; absent or '' without one. Version 2 only. */
  range?: string;
  /** The segment index a PROOF asks for; absent or null for other operations. Version 2 only. */
  segment?: number | null;
}

export interface AuthHeaders extends SignedFields {
  version: AuthVersion;
  /** Renter public key, 66 hex. */
  key: string;
  /** Compact signature, 128 hex. */
  signature: string;
}

const HEX_RE = (n: number) => new RegExp(`^[0-9a-f]{${n}}$`);
const NONCE_RE = HEX_RE(NONCE_SIZE * 2);
const SHA_RE = HEX_RE(64);
const SIG_RE = HEX_RE(128);
const KEY_RE = /^0[23][0-9a-f]{64}$/;

/** The exact bytes a renter signs in `version` (see docs/server.md for the tables). */
export function requestMessage(f: SignedFields, version: AuthVersion = AUTH_VERSION): Uint8Array {
  checkId(f.contractId, 'contractId');
  if (f.sectorId !== null) checkId(f.sectorId, 'sectorId');
  if (!OPERATIONS.includes(f.operation)) throw new RangeError(`operation must be one of ${OPERATIONS.join(', ')}`);
  if (!SHA_RE.test(f.bodySha256)) throw new RangeError('bodySha256 must be 64 lowercase hex characters');
  if (!Number.isSafeInteger(f.timestamp) || f.timestamp < 0) throw new RangeError('timestamp must be a non-negative integer (ms)');
  if (!NONCE_RE.test(f.nonce)) throw new RangeError(`nonce must be ${NONCE_SIZE * 2} lowercase hex characters`);
  const range = Buffer.from(f.range ?? '', 'latin1');
  const segment = f.segment ?? null;
  if (range.length > MAX_SIGNED_RANGE) throw new RangeError(`range must be at most ${MAX_SIGNED_RANGE} characters`);
  if (segment !== null && (!Number.isSafeInteger(segment) || segment < 0 || segment >= NO_SEGMENT)) throw new RangeError('segment must be an integer from 0 to 2^32 - 2');
  if (version === 1 && (range.length > 0 || segment !== null)) throw new RangeError('version 1 signs neither a range nor a segment');
  const op = Buffer.from(f.operation, 'ascii');
  const tail = version === 1 ? 0 : 4 + 1 + range.length;
  const msg = Buffer.alloc(32 + 32 + 1 + op.length + 32 + 8 + NONCE_SIZE + tail);
  let o = msg.write(f.contractId, 0, 'hex');
  o += f.sectorId === null ? 32 : msg.write(f.sectorId, o, 'hex');
  o = msg.writeUInt8(op.length, o);
  o += op.copy(msg, o);
  o += msg.write(f.bodySha256, o, 'hex');
  o = msg.writeBigUInt64BE(BigInt(f.timestamp), o);
  o += msg.write(f.nonce, o, 'hex');
  if (version === 1) return msg;
  o = msg.writeUInt32BE(segment ?? NO_SEGMENT, o);
  o = msg.writeUInt8(range.length, o);
  range.copy(msg, o);
  return msg;
}

/**
 * Headers for one request, signed in the current version; a fresh nonce and
 * the current time unless given. A client signing many requests passes
 * `publicKey` (of `secretKey`) once derived: deriving it costs about as much
 * as the signature.
 */
export function signRequest(
  fields: Omit<SignedFields, 'timestamp' | 'nonce'> & Partial<Pick<SignedFields, 'timestamp' | 'nonce'>>,
  secretKey: Uint8Array,
  publicKey: Uint8Array = publicKeyOf(secretKey),
): Record<string, string> {
  const full: SignedFields = {
    ...fields,
    timestamp: fields.timestamp ?? Date.now(),
    nonce: fields.nonce ?? randomBytes(NONCE_SIZE).toString('hex'),
  };
  // Random-nonce ECDSA through OpenSSL: half the cost of noble's, and no one needs to reproduce it.
  const signature = signRandomized(REQUEST_DOMAINS[AUTH_VERSION], requestMessage(full, AUTH_VERSION), secretKey);
  return {
    [HEADER.version]: String(AUTH_VERSION),
    [HEADER.key]: Buffer.from(publicKey).toString('hex'),
    [HEADER.timestamp]: String(full.timestamp),
    [HEADER.nonce]: full.nonce,
    [HEADER.bodySha256]: full.bodySha256,
    [HEADER.signature]: Buffer.from(signature).toString('hex'),
  };
}

function _one(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? undefined : v;
}

/**
 * Reads the auth headers of a request about `target` (its range and segment
 * as the server will answer them). Returns null when none is present (the
 * caller answers 401), or a string naming the first malformed one.
 */
export function parseAuthHeaders(
  headers: IncomingHttpHeaders,
  target: Pick<SignedFields, 'contractId' | 'sectorId' | 'operation' | 'range' | 'segment'>,
): AuthHeaders | null | string {
  const key = _one(headers, HEADER.key);
  const signature = _one(headers, HEADER.signature);
  if (key === undefined && signature === undefined) return null;
  if (key === undefined || !KEY_RE.test(key)) return `${HEADER.key} must be a 66-hex compressed public key`;
  if (signature === undefined || !SIG_RE.test(signature)) return `${HEADER.signature} must be 128 hex characters`;
  const ts = _one(headers, HEADER.timestamp);
  if (ts === undefined || !/^[0-9]{1,16}$/.test(ts)) return `${HEADER.timestamp} must be milliseconds since the epoch`;
  const nonce = _one(headers, HEADER.nonce);
  if (nonce === undefined || !NONCE_RE.test(nonce)) return `${HEADER.nonce} must be ${NONCE_SIZE * 2} lowercase hex characters`;
  const body = _one(headers, HEADER.bodySha256) ?? EMPTY_SHA256;
  if (!SHA_RE.test(body)) return `${HEADER.bodySha256} must be 64 lowercase hex characters`;
  const version = _one(headers, HEADER.version) ?? '1';
  if (version !== '1' && version !== '2') return `${HEADER.version} must be 1 or 2`;
  return { ...target, version: Number(version) as AuthVersion, key, signature, timestamp: Number(ts), nonce, bodySha256: body };
}

/** True when `a.signature` is `a.key`'s signature over the request's fields in `a.version`. */
export function verifyAuth(a: AuthHeaders): boolean {
  if (a.version === 1 && ((a.range ?? '') !== '' || (a.segment ?? null) !== null)) return false;
  return verify(REQUEST_DOMAINS[a.version], requestMessage(a, a.version), Buffer.from(a.signature, 'hex'), Buffer.from(a.key, 'hex'));
}

/**
 * Nonces seen within the clock-skew window. A request is only accepted while
 * its timestamp is within ±window of now, so remembering each nonce for
 * 2×window after receipt is enough; with receipt time as the clock, insertion
 * order is expiry order and pruning only ever looks at the oldest entries.
 * It never forgets a nonce early, so it holds at most `max`: when it is full,
 * the caller refuses requests until the oldest expire (authorize.ts keeps
 * anyone but a contract's renter from adding to it).
 */
export class NonceCache {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    /** Entries kept at most (~170 bytes each). */
    readonly max = 100_000,
  ) {
    if (!Number.isSafeInteger(windowMs) || windowMs <= 0) throw new RangeError('windowMs must be a positive integer');
    if (!Number.isSafeInteger(max) || max <= 0) throw new RangeError('max must be a positive integer');
  }

  /** True when `nonce` of `key` was remembered and has not expired. */
  has(key: string, nonce: string, now = Date.now()): boolean {
    this._prune(now);
    return this.seen.has(`${key}:${nonce}`);
  }

  /** Remembers `nonce` of `key`; false if it was already seen (a replay) or there is no room (`fullFor`). */
  remember(key: string, nonce: string, now = Date.now()): boolean {
    if (this.has(key, nonce, now) || this.seen.size >= this.max) return false;
    this.seen.set(`${key}:${nonce}`, now + 2 * this.windowMs);
    return true;
  }

  /** Milliseconds until a nonce can be remembered again: 0 unless the cache is full. */
  fullFor(now = Date.now()): number {
    this._prune(now);
    if (this.seen.size < this.max) return 0;
    return Math.max(1, (this.seen.values().next().value as number) - now);
  }

  get size(): number {
    return this.seen.size;
  }

  private _prune(now: number): void {
    for (const [id, expires] of this.seen) {
      if (expires > now) break;
      this.seen.delete(id);
    }
  }
}
