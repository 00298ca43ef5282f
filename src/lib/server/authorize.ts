/**
 * The checks every sector request passes before it touches storage, cheapest
 * first, and in an order that lets no stranger add to the server's memory:
 * address not refused too often → headers → clock skew → version → signature →
 * replay → contract (a bounded cache in front of the Negotiator) → key → host →
 * live → nonce cache not full → rate limit → nonce remembered. Only a contract's own renter gets as far as
 * the rate limiter and the nonce cache, so fresh keys and made-up contract ids
 * leave nothing there; their refusals count against their address instead.
 */
import type { IncomingMessage } from 'node:http';
import { HttpError } from '../errors.js';
import { AuthorityUnavailableError, notLiveReason, type Access, type ContractAuthority, type ServedContract } from './authority.js';
import type { RateLimiter } from './rate-limit.js';
import { parseAuthHeaders, verifyAuth, type AuthHeaders, type NonceCache, type Operation, type SignedFields } from './request-auth.js';

/**
 * Rate-limit tokens per operation. A proof hashes the whole sector (about
 * 0.2 s of the event loop for 4 MiB), so it costs as much as 25 plain requests;
 * ROOTS and REVISION pay that again for each sector root they compute (contract-routes.ts).
 */
export const OPERATION_COST: Record<Operation, number> = { PUT: 1, GET: 1, DELETE: 1, LIST: 1, PROOF: 25, ROOTS: 1, REVISION: 1, CARRY: 1 };

/** A revision changes no data: the Negotiator, not the server, judges whether the contract still takes one. */
const ACCESS: Record<Operation, Access> = { PUT: 'write', DELETE: 'write', GET: 'read', LIST: 'read', PROOF: 'read', ROOTS: 'read', REVISION: 'read', CARRY: 'write' };

/** Refusals that say the client is not the contract's renter: they count against its address, as bad signatures do. */
const STRANGER_CODES = new Set(['unknown-contract', 'wrong-key', 'not-our-contract']);

export interface AuthContext {
  authority: ContractAuthority;
  nonces: NonceCache;
  /** Requests per renter key. */
  limiter: RateLimiter;
  /**
   * Refusals (401, and 403 for another's or no contract) per client address.
   * Checking a signature is the costliest thing an unauthenticated client can
   * make the server do, and naming an unknown contract costs a Negotiator
   * lookup, so an address that keeps being refused is turned away before either.
   */
  failures: RateLimiter;
  /** Largest accepted difference between a request's timestamp and the server's clock. */
  skewMs: number;
  /** When set, only contracts whose hostKey is this key are served. */
  hostKey?: string;
}

/** What a request asks for, as the server will answer it: each part is signed (version 2); no range and no segment when absent. */
export type RequestTarget = Pick<SignedFields, 'contractId' | 'sectorId' | 'operation' | 'range' | 'segment'>;

export interface Authorized {
  contract: ServedContract;
  key: string;
}

/** Resolves with the contract and signing key, or throws the HttpError to answer. */
export async function authorize(ctx: AuthContext, req: IncomingMessage, target: RequestTarget, onKey: (key: string) => void): Promise<Authorized> {
  const address = req.socket.remoteAddress ?? '-';
  const backoff = ctx.failures.wait(address);
  if (backoff > 0) throw new HttpError(429, 'too-many-failures', 'too many refused requests from this address', { 'retry-after': String(backoff) });
  let auth: AuthHeaders;
  let contract: ServedContract;
  try {
    auth = _checkSignature(ctx, req, target);
    onKey(auth.key);
    contract = await _contractOf(ctx, target.contractId, auth.key);
    // A copy of the request may have got this far while the contract was looked up.
    _refuseReplay(ctx, auth);
  } catch (err) {
    if (err instanceof HttpError && (err.status === 401 || STRANGER_CODES.has(err.code))) ctx.failures.take(address);
    throw err;
  }
  const why = notLiveReason(contract, ACCESS[target.operation]);
  if (why !== null) throw new HttpError(403, why.code, why.message);
  const full = ctx.nonces.fullFor();
  if (full > 0) throw new HttpError(503, 'busy', 'too many recent requests to remember; retry shortly', { 'retry-after': String(Math.ceil(full / 1000)) });
  const wait = ctx.limiter.take(auth.key, Math.min(ctx.limiter.burst, OPERATION_COST[target.operation]));
  if (wait > 0) throw new HttpError(429, 'rate-limited', 'too many requests for this key', { 'retry-after': String(wait) });
  ctx.nonces.remember(auth.key, auth.nonce);
  return { contract, key: auth.key };
}

/** The auth headers of a well-formed, fresh request whose signature covers every part that shapes the answer; throws a 401 otherwise. */
function _checkSignature(ctx: AuthContext, req: IncomingMessage, target: RequestTarget): AuthHeaders {
  const auth = parseAuthHeaders(req.headers, target);
  if (auth === null) throw new HttpError(401, 'unsigned', 'request is not signed (see docs/server.md, Request signatures)');
  if (typeof auth === 'string') throw new HttpError(401, 'bad-auth-header', auth);
  if (Math.abs(Date.now() - auth.timestamp) > ctx.skewMs) {
    throw new HttpError(401, 'clock-skew', `timestamp is more than ${ctx.skewMs / 1000}s away from the server's clock`);
  }
  if (auth.version === 1 && ((target.range ?? '') !== '' || (target.segment ?? null) !== null)) {
    throw new HttpError(401, 'old-signature', 'a version 1 signature does not cover the Range header or the proof segment: sign with version 2');
  }
  if (!verifyAuth(auth)) throw new HttpError(401, 'bad-signature', 'signature does not verify');
  _refuseReplay(ctx, auth);
  return auth;
}

function _refuseReplay(ctx: AuthContext, auth: AuthHeaders): void {
  if (ctx.nonces.has(auth.key, auth.nonce)) throw new HttpError(401, 'replay', 'nonce already used');
}

/** The contract, if `key` is its renter and it is this host's; throws the 403 (or 503) otherwise. */
async function _contractOf(ctx: AuthContext, contractId: string, key: string): Promise<ServedContract> {
  let contract: ServedContract | null;
  try {
    contract = await ctx.authority.lookup(contractId);
  } catch (err) {
    // The detail (it names the Negotiator's address) goes to the log, not to the client.
    if (err instanceof AuthorityUnavailableError) throw new HttpError(503, 'authority-unavailable', 'cannot ask the Negotiator now', { 'retry-after': '1' }, err);
    throw err;
  }
  if (contract === null) throw new HttpError(403, 'unknown-contract', 'no such contract');
  if (contract.renterKey !== key) throw new HttpError(403, 'wrong-key', "request not signed by the contract's renter key");
  if (ctx.hostKey !== undefined && contract.hostKey !== ctx.hostKey) throw new HttpError(403, 'not-our-contract', 'contract is not with this host');
  return contract;
}
