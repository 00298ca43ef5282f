/**
 * The checks every sector request passes before it touches storage, cheapest
 * first, so that unsigned or replayed traffic never costs a Negotiator lookup:
 * address not failing too often → headers → clock skew → signature → replay →
 * rate limit → contract → key → host → live.
 */
import type { IncomingMessage } from 'node:http';
import { HttpError } from '../errors.js';
import { AuthorityUnavailableError, notLiveReason, type Access, type ContractAuthority, type ServedContract } from './authority.js';
import type { RateLimiter } from './rate-limit.js';
import { parseAuthHeaders, verifyAuth, type NonceCache, type Operation } from './request-auth.js';

/**
 * Rate-limit tokens per operation. A proof hashes the whole sector (about
 * 0.2 s of the event loop for 4 MiB), so it costs as much as 25 plain requests;
 * ROOTS and REVISION pay that again for each sector root they compute (contract-routes.ts).
 */
export const OPERATION_COST: Record<Operation, number> = { PUT: 1, GET: 1, DELETE: 1, LIST: 1, PROOF: 25, ROOTS: 1, REVISION: 1, CARRY: 1 };

/** A revision changes no data: the Negotiator, not the server, judges whether the contract still takes one. */
const ACCESS: Record<Operation, Access> = { PUT: 'write', DELETE: 'write', GET: 'read', LIST: 'read', PROOF: 'read', ROOTS: 'read', REVISION: 'read', CARRY: 'write' };

export interface AuthContext {
  authority: ContractAuthority;
  nonces: NonceCache;
  /** Requests per renter key. */
  limiter: RateLimiter;
  /**
   * Refused signatures (401) per client address. Checking a signature is the
   * costliest thing an unauthenticated client can make the server do, so an
   * address that keeps failing is turned away before its signatures are checked.
   */
  failures: RateLimiter;
  /** Largest accepted difference between a request's timestamp and the server's clock. */
  skewMs: number;
  /** When set, only contracts whose hostKey is this key are served. */
  hostKey?: string;
}

export interface Authorized {
  contract: ServedContract;
  key: string;
}

/** Resolves with the contract and signing key, or throws the HttpError to answer. */
export async function authorize(
  ctx: AuthContext,
  req: IncomingMessage,
  target: { contractId: string; sectorId: string | null; operation: Operation },
  onKey: (key: string) => void,
): Promise<Authorized> {
  const address = req.socket.remoteAddress ?? '-';
  const backoff = ctx.failures.wait(address);
  if (backoff > 0) throw new HttpError(429, 'too-many-failures', 'too many refused signatures from this address', { 'retry-after': String(backoff) });
  let key: string;
  try {
    key = _checkSignature(ctx, req, target);
  } catch (err) {
    ctx.failures.take(address);
    throw err;
  }
  onKey(key);
  const wait = ctx.limiter.take(key, Math.min(ctx.limiter.burst, OPERATION_COST[target.operation]));
  if (wait > 0) throw new HttpError(429, 'rate-limited', 'too many requests for this key', { 'retry-after': String(wait) });

  let contract: ServedContract | null;
  try {
    contract = await ctx.authority.lookup(target.contractId);
  } catch (err) {
    // The detail (it names the Negotiator's address) goes to the log, not to the client.
    if (err instanceof AuthorityUnavailableError) throw new HttpError(503, 'authority-unavailable', 'cannot ask the Negotiator now', { 'retry-after': '1' }, err);
    throw err;
  }
  if (contract === null) throw new HttpError(403, 'unknown-contract', 'no such contract');
  if (contract.renterKey !== key) throw new HttpError(403, 'wrong-key', "request not signed by the contract's renter key");
  if (ctx.hostKey !== undefined && contract.hostKey !== ctx.hostKey) throw new HttpError(403, 'not-our-contract', 'contract is not with this host');
  const why = notLiveReason(contract, ACCESS[target.operation]);
  if (why !== null) throw new HttpError(403, why.code, why.message);
  return { contract, key };
}

/** The signing key of a well-formed, fresh, valid, never-seen request; throws a 401 otherwise. */
function _checkSignature(ctx: AuthContext, req: IncomingMessage, target: { contractId: string; sectorId: string | null; operation: Operation }): string {
  const auth = parseAuthHeaders(req.headers, target);
  if (auth === null) throw new HttpError(401, 'unsigned', 'request is not signed (see docs/server.md, Request signatures)');
  if (typeof auth === 'string') throw new HttpError(401, 'bad-auth-header', auth);
  if (Math.abs(Date.now() - auth.timestamp) > ctx.skewMs) {
    throw new HttpError(401, 'clock-skew', `timestamp is more than ${ctx.skewMs / 1000}s away from the server's clock`);
  }
  if (!verifyAuth(auth)) throw new HttpError(401, 'bad-signature', 'signature does not verify');
  if (!ctx.nonces.remember(auth.key, auth.nonce)) throw new HttpError(401, 'replay', 'nonce already used');
  return auth.key;
}
