/**
 * POST /v1/contracts/<cid>/carry { "from": "<old cid>" } (docs/server.md,
 * "Renewal"): the renter's daemon renewed contract `from` with this host as
 * contract <cid>, and asks for the sectors it holds under `from` to be held
 * under <cid> as well, without uploading them again. The request is signed
 * for <cid> by its renter (authorize.ts checked that, and that <cid> is
 * live); `from` must be a contract of the same renter with the same host.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from '../errors.js';
import { AuthorityUnavailableError, type ServedContract } from './authority.js';
import { sendJson } from './http-util.js';
import { isId } from './ids.js';
import type { RouteContext, RouteNotes } from './route-context.js';
import { readSmallBody } from './small-body.js';

const MAX_CARRY_BODY = 256;

function _from(body: Buffer): string {
  let from: unknown;
  try {
    from = (JSON.parse(body.toString('utf8')) as { from?: unknown })?.from;
  } catch {
    throw new HttpError(400, 'bad-body', 'body must be JSON: { "from": "<contract id>" }');
  }
  if (typeof from !== 'string' || !isId(from)) throw new HttpError(400, 'bad-id', 'from must be a contract id, 64 lowercase hex characters');
  return from;
}

async function _lookup(ctx: RouteContext, id: string): Promise<ServedContract | null> {
  try {
    return await ctx.authority.lookup(id);
  } catch (err) {
    if (err instanceof AuthorityUnavailableError) throw new HttpError(503, 'authority-unavailable', 'cannot ask the Negotiator now', { 'retry-after': '1' }, err);
    throw err;
  }
}

export async function handleCarry(ctx: RouteContext, req: IncomingMessage, res: ServerResponse, to: ServedContract, notes: RouteNotes): Promise<void> {
  const from = _from(await readSmallBody(req, MAX_CARRY_BODY, ctx.bodyTimeoutMs, notes, 'a carry request'));
  if (from === to.contractId) throw new HttpError(400, 'bad-id', 'a contract cannot carry its own sectors');
  const old = await _lookup(ctx, from);
  // Another renter's contract, or one with another host, is answered as unknown: its existence is none of this renter's business.
  if (old === null || old.renterKey !== to.renterKey || old.hostKey !== to.hostKey) throw new HttpError(403, 'unknown-contract', 'no such contract of this renter with this host');
  sendJson(res, 200, { contractId: to.contractId, from, ...(await ctx.store.carry(from, to.contractId, to.sizeBytes)) });
}
