/**
 * GET /v1/contracts/<cid>/roots (docs/server.md, "Commitments"): the roots of
 * the sectors this server holds for a contract, which a commitment revision
 * signs (docs/protocol.md §10).
 */
import type { ServerResponse } from 'node:http';
import { HttpError } from '../errors.js';
import { OPERATION_COST } from './authorize.js';
import { sendJson } from './http-util.js';
import type { RouteContext } from './routes.js';
import type { SectorRoot } from './sector-roots.js';

/** The contract's sector roots, sorted by id, each root computed paying the rate limit as a PROOF would. */
export function contractRoots(ctx: RouteContext, contractId: string, key: string): Promise<SectorRoot[]> {
  return ctx.roots.roots(contractId, () => {
    const wait = ctx.limiter.take(key, Math.min(ctx.limiter.burst, OPERATION_COST.PROOF));
    // The roots computed so far are kept: asking again after the wait goes on from there.
    if (wait > 0) throw new HttpError(429, 'rate-limited', 'too many sector roots computed for this key; the next request goes on where this one stopped', { 'retry-after': String(wait) });
  });
}

export async function handleRoots(ctx: RouteContext, res: ServerResponse, contractId: string, key: string): Promise<void> {
  sendJson(res, 200, { contractId, sectors: await contractRoots(ctx, contractId, key) });
}

