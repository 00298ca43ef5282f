/**
 * POST /v1/contracts/<cid>/revision (docs/server.md, "Commitments"): a
 * renter-signed commitment revision, checked against the sectors this server
 * holds, then countersigned by its Negotiator.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { contractRoot } from '../crypto/merkle.js';
import { HttpError } from '../errors.js';
import { Revision } from '../negotiator/revision.js';
import { AuthorityUnavailableError, NegotiatorRefusedError } from './authority.js';
import { contractRoots } from './contract-routes.js';
import { sendJson } from './http-util.js';
import { readSmallBody } from './small-body.js';
import type { RouteContext, RouteNotes } from './route-context.js';

/** A revision is REVISION_SIZE (209) bytes: its JSON, hex, is well under this. */
const MAX_REVISION_BODY = 4096;

function _parseRevision(body: Buffer, contractId: string): { revision: Revision; hex: string } {
  let hex: unknown;
  try {
    hex = (JSON.parse(body.toString('utf8')) as { revision?: unknown })?.revision;
  } catch {
    throw new HttpError(400, 'bad-body', 'body must be JSON: { "revision": "<hex>" }');
  }
  if (typeof hex !== 'string' || !/^([0-9a-f]{2})+$/.test(hex)) throw new HttpError(400, 'bad-revision', 'revision must be lowercase hex');
  let revision: Revision;
  try {
    revision = Revision.decode(Buffer.from(hex, 'hex'));
  } catch (err) {
    throw new HttpError(400, 'bad-revision', `revision does not decode: ${(err as Error).message}`);
  }
  if (Buffer.from(revision.contractId).toString('hex') !== contractId) throw new HttpError(400, 'bad-revision', 'revision is for another contract');
  return { revision, hex };
}

/**
 * Countersigning is the Negotiator's (it holds the host key); this server
 * only refuses first a revision that does not commit to what it holds, which
 * the Negotiator, holding no data, could not tell.
 */
export async function handleRevision(ctx: RouteContext, req: IncomingMessage, res: ServerResponse, contractId: string, key: string, notes: RouteNotes): Promise<void> {
  const body = await readSmallBody(req, MAX_REVISION_BODY, ctx.bodyTimeoutMs, notes, 'a revision request');
  const { revision, hex } = _parseRevision(body, contractId);
  const sectors = await contractRoots(ctx, contractId, key);
  const total = sectors.reduce((n, s) => n + s.size, 0);
  const root = contractRoot(sectors.map((s) => ({ id: s.id, size: s.size, root: Buffer.from(s.root, 'hex') })));
  if (revision.sectorCount !== sectors.length || revision.totalBytes !== total || !Buffer.from(root).equals(revision.root)) {
    throw new HttpError(
      409,
      'root-mismatch',
      `this server holds ${sectors.length} sectors, ${total} bytes, contract root ${Buffer.from(root).toString('hex')}; ` +
        `the revision commits to ${revision.sectorCount} sectors, ${revision.totalBytes} bytes, root ${Buffer.from(revision.root).toString('hex')}`,
    );
  }
  if (ctx.signer === undefined) throw new HttpError(503, 'no-negotiator', 'this server has no Negotiator to countersign revisions');
  let signed: string;
  try {
    signed = await ctx.signer.countersign(contractId, hex);
  } catch (err) {
    if (err instanceof NegotiatorRefusedError) throw new HttpError(502, 'negotiator-refused', `the Negotiator refused the revision: ${err.message}`, {}, err);
    if (err instanceof AuthorityUnavailableError) throw new HttpError(503, 'authority-unavailable', 'cannot ask the Negotiator now', { 'retry-after': '1' }, err);
    throw err;
  }
  sendJson(res, 200, { revision: signed });
}
