/**
 * POST /v1/contracts/<cid>/revision (docs/server.md, "Commitments"): a
 * renter-signed commitment revision, checked against the sectors this server
 * holds, then countersigned by its Negotiator.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { contractRoot } from '../crypto/merkle.js';
import { HttpError } from '../errors.js';
import { Revision } from '../negotiator/revision.js';
import { AuthorityUnavailableError, NegotiatorRefusedError } from './authority.js';
import { contractRoots } from './contract-routes.js';
import { sendJson } from './http-util.js';
import { HEADER } from './request-auth.js';
import type { RouteContext, RouteNotes } from './routes.js';

/** A revision is REVISION_SIZE (209) bytes: its JSON, hex, is well under this. */
const MAX_REVISION_BODY = 4096;

async function _body(req: IncomingMessage, timeoutMs: number, notes: RouteNotes): Promise<Buffer> {
  const header = req.headers['content-length'];
  if (header === undefined) throw new HttpError(411, 'length-required', 'a revision request needs a Content-Length');
  if (!/^[0-9]{1,10}$/.test(header) || Number(header) > MAX_REVISION_BODY) {
    throw new HttpError(413, 'body-too-large', `a revision request has a Content-Length of at most ${MAX_REVISION_BODY} bytes`, { connection: 'close' });
  }
  const timer = setTimeout(() => req.destroy(new HttpError(408, 'body-timeout', 'request body too slow')), timeoutMs);
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of req) {
      notes.bytesIn += chunk.length;
      if (notes.bytesIn > MAX_REVISION_BODY) throw new HttpError(413, 'body-too-large', `body longer than ${MAX_REVISION_BODY} bytes`, { connection: 'close' });
      chunks.push(chunk as Buffer);
    }
  } finally {
    clearTimeout(timer);
  }
  return Buffer.concat(chunks);
}

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
  const body = await _body(req, ctx.bodyTimeoutMs, notes);
  if (createHash('sha256').update(body).digest('hex') !== req.headers[HEADER.bodySha256]) throw new HttpError(400, 'bad-body', 'body does not match its signed sha256');
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
