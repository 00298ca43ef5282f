/**
 * The sector endpoints (docs/server.md, "Endpoints"):
 *
 *     PUT    /v1/contracts/<cid>/sectors/<sid>                 store a sector
 *     GET    /v1/contracts/<cid>/sectors/<sid>                 read it (Range: bytes=a-b)
 *     DELETE /v1/contracts/<cid>/sectors/<sid>                 delete it
 *     GET    /v1/contracts/<cid>/sectors                       list the contract's sectors
 *     GET    /v1/contracts/<cid>/sectors/<sid>/proof?segment=n storage proof
 *     GET    /v1/contracts/<cid>/roots                         sector roots (contract-routes.ts)
 *     POST   /v1/contracts/<cid>/revision                      countersign a commitment revision (revision-route.ts)
 *     POST   /v1/contracts/<cid>/carry                         hold a renewed contract's sectors (carry-route.ts)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { HttpError } from '../errors.js';
import { authorize } from './authorize.js';
import { handleCarry } from './carry-route.js';
import { handleRoots } from './contract-routes.js';
import { handleRevision } from './revision-route.js';
import { sendJson } from './http-util.js';
import { isId, MAX_SECTOR_SIZE } from './ids.js';
import { merkleProofYielding, segmentCount } from '../crypto/merkle.js';
import { HEADER, MAX_SIGNED_RANGE, type Operation } from './request-auth.js';
import { parseRange } from './range.js';
import { readDirect } from '../fsutil/direct-io.js';
import { readRange } from './sector-buffers.js';
import { SectorStoreError } from './sector-store.js';
import type { RouteContext, RouteNotes } from './route-context.js';

const STORE_STATUS: Record<SectorStoreError['code'], number> = { 'over-contract': 413, full: 507, busy: 409, 'bad-body': 400 };

interface Target {
  contractId: string;
  sectorId: string | null;
  proof: boolean;
  /** An endpoint about the whole contract's commitment rather than its sectors. */
  commitment: 'roots' | 'revision' | 'carry' | null;
}

/** Parses a /v1/contracts/... path; null for paths that are not contract endpoints. */
export function parseSectorPath(pathname: string): Target | null {
  const m = /^\/v1\/contracts\/([^/]+)\/(?:sectors(?:\/([^/]+)(\/proof)?)?|(roots|revision|carry))\/?$/.exec(pathname);
  if (!m) return null;
  const [, contractId, sectorId, proof, commitment] = m;
  if (!isId(contractId)) throw new HttpError(400, 'bad-id', 'contract id must be 64 lowercase hex characters');
  if (sectorId !== undefined && !isId(sectorId)) throw new HttpError(400, 'bad-id', 'sector id must be 64 lowercase hex characters');
  return { contractId, sectorId: sectorId ?? null, proof: proof !== undefined, commitment: (commitment as Target['commitment']) ?? null };
}

function _operation(method: string, t: Target): Operation {
  const allowed: Record<string, Operation> =
    t.commitment === 'roots' ? { GET: 'ROOTS' }
    : t.commitment === 'revision' ? { POST: 'REVISION' }
    : t.commitment === 'carry' ? { POST: 'CARRY' }
    : t.sectorId === null ? { GET: 'LIST' }
    : t.proof ? { GET: 'PROOF' }
    : { GET: 'GET', PUT: 'PUT', DELETE: 'DELETE' };
  const op = allowed[method];
  if (!op) throw new HttpError(405, 'method-not-allowed', `${method} not allowed here`, { allow: Object.keys(allowed).join(', ') });
  return op;
}

export async function handleSector(ctx: RouteContext, req: IncomingMessage, res: ServerResponse, url: URL, t: Target, notes: RouteNotes): Promise<void> {
  const operation = _operation(req.method ?? '', t);
  const size = operation === 'PUT' ? _contentLength(req) : 0;
  const range = operation === 'GET' ? _rangeHeader(req) : '';
  const segment = operation === 'PROOF' ? _segment(url) : null;
  const { contract, key } = await authorize(ctx, req, { contractId: t.contractId, sectorId: t.sectorId, operation, range, segment }, (k) => (notes.key = k));
  if (operation === 'ROOTS') return handleRoots(ctx, res, t.contractId, key);
  if (operation === 'REVISION') return handleRevision(ctx, req, res, t.contractId, key, notes);
  try {
    if (operation === 'CARRY') return await handleCarry(ctx, req, res, contract, notes);
    await _dispatch(ctx, req, res, { ...t, range, segment }, operation, size, contract.sizeBytes, notes);
  } catch (err) {
    if (err instanceof SectorStoreError) throw new HttpError(STORE_STATUS[err.code], err.code, err.message);
    throw err;
  }
}

async function _dispatch(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  t: Target & { range: string; segment: number | null },
  operation: Operation,
  size: number,
  contractSize: number,
  notes: RouteNotes,
): Promise<void> {
  const sectorId = t.sectorId as string;
  switch (operation) {
    case 'PUT':
      return _put(ctx, req, res, t.contractId, sectorId, size, contractSize, notes);
    case 'GET':
      return _get(ctx, res, t.contractId, sectorId, t.range);
    case 'DELETE':
      if (!(await ctx.store.delete(t.contractId, sectorId))) throw new HttpError(404, 'no-such-sector', 'no such sector');
      res.writeHead(204).end();
      return;
    case 'LIST':
      sendJson(res, 200, {
        contractId: t.contractId,
        sizeBytes: contractSize,
        usedBytes: ctx.store.usedBy(t.contractId),
        sectors: await ctx.store.list(t.contractId),
      });
      return;
    case 'PROOF':
      return _proof(ctx, res, t.contractId, sectorId, t.segment as number);
  }
}

/** The Range header as the signature covers it and the answer follows it; '' without one. */
function _rangeHeader(req: IncomingMessage): string {
  const range = req.headers.range ?? '';
  if (range.length > MAX_SIGNED_RANGE) throw new HttpError(416, 'bad-range', 'only one satisfiable byte range is supported');
  return range;
}

function _segment(url: URL): number {
  const raw = url.searchParams.get('segment');
  if (raw === null || !/^[0-9]{1,7}$/.test(raw)) throw new HttpError(400, 'bad-segment', 'segment must be a segment index');
  return Number(raw);
}

function _contentLength(req: IncomingMessage): number {
  const header = req.headers['content-length'];
  if (header === undefined) throw new HttpError(411, 'length-required', 'PUT needs a Content-Length');
  if (!/^[0-9]{1,10}$/.test(header)) throw new HttpError(400, 'bad-length', 'Content-Length is not a number');
  const size = Number(header);
  if (size > MAX_SECTOR_SIZE) throw new HttpError(413, 'sector-too-large', `sectors are at most ${MAX_SECTOR_SIZE} bytes`, { connection: 'close' });
  if (size === 0) throw new HttpError(400, 'empty-sector', 'a sector has at least one byte');
  return size;
}

async function* _timedBody(req: IncomingMessage, timeoutMs: number, notes: RouteNotes): AsyncGenerator<Uint8Array> {
  // The server's requestTimeout bounds a whole request too, but a short body
  // deadline of our own frees the reservation and the temp file sooner.
  const timer = setTimeout(() => req.destroy(new HttpError(408, 'body-timeout', 'request body too slow')), timeoutMs);
  try {
    // destroyOnReturn: false keeps the connection usable when the store stops
    // reading early (disk full, bad body): Node then discards the rest.
    for await (const chunk of req.iterator({ destroyOnReturn: false })) {
      notes.bytesIn += chunk.length;
      yield chunk as Buffer;
    }
  } finally {
    clearTimeout(timer);
  }
}

async function _put(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  contractId: string,
  sectorId: string,
  size: number,
  contractSize: number,
  notes: RouteNotes,
): Promise<void> {
  const sha = req.headers[HEADER.bodySha256] as string | undefined;
  if (sha === undefined) throw new HttpError(401, 'bad-auth-header', `PUT needs ${HEADER.bodySha256}`);
  try {
    const r = await ctx.store.put(contractId, sectorId, _timedBody(req, ctx.bodyTimeoutMs, notes), size, contractSize, sha);
    sendJson(res, r.created ? 201 : 200, { sectorId, size, sha256: r.sha256 });
  } catch (err) {
    await _drain(req, ctx.bodyTimeoutMs);
    throw err;
  }
}

/** Reads and drops what is left of a refused upload (at most a sector), so the client sees the answer and can reuse the connection. */
async function _drain(req: IncomingMessage, timeoutMs: number): Promise<void> {
  if (req.complete || req.destroyed) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      req.destroy();
      resolve();
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    req.once('end', done).once('close', done).once('error', done).resume();
  });
}

async function _get(ctx: RouteContext, res: ServerResponse, contractId: string, sectorId: string, rangeHeader: string): Promise<void> {
  // A recycled buffer is aligned for O_DIRECT: sectors the store wrote around the page cache are read around it too.
  const into = ctx.readBuffers.take();
  const direct = into !== null && ctx.store.direct;
  let lent = false;
  try {
    const sector = await ctx.store.openSector(contractId, sectorId, { direct });
    if (sector === null) throw new HttpError(404, 'no-such-sector', 'no such sector');
    try {
      const range = parseRange(rangeHeader === '' ? undefined : rangeHeader, sector.size);
      if (range === 'unsatisfiable') {
        throw new HttpError(416, 'bad-range', 'only one satisfiable byte range is supported', { 'content-range': `bytes */${sector.size}` });
      }
      const [start, end] = range ?? [0, sector.size - 1];
      const head = {
        'content-type': 'application/octet-stream',
        'content-length': end - start + 1,
        'accept-ranges': 'bytes',
        'cache-control': 'no-store',
        ...(range ? { 'content-range': `bytes ${start}-${end}/${sector.size}` } : {}),
      };
      if (into === null) {
        res.writeHead(range ? 206 : 200, head);
        await pipeline(sector.handle.createReadStream({ start, end, autoClose: false, highWaterMark: 256 * 1024 }), res);
        return;
      }
      const body = direct ? await readDirect(sector.handle, into, start, end - start + 1) : await readRange(sector.handle, into, start, end - start + 1);
      // Given back once the answer is handed to the kernel, or the connection is gone: the socket no longer reads it.
      lent = true;
      res.once('close', () => ctx.readBuffers.give(into));
      res.writeHead(range ? 206 : 200, head).end(body);
    } finally {
      await sector.handle.close();
    }
  } finally {
    if (into && !lent) ctx.readBuffers.give(into);
  }
}

async function _proof(ctx: RouteContext, res: ServerResponse, contractId: string, sectorId: string, index: number): Promise<void> {
  const data = await ctx.store.read(contractId, sectorId);
  if (data === null) throw new HttpError(404, 'no-such-sector', 'no such sector');
  if (index >= segmentCount(data.length)) throw new HttpError(400, 'bad-segment', `sector has ${segmentCount(data.length)} segments`);
  const { proof } = await merkleProofYielding(data, index);
  sendJson(res, 200, {
    sectorId,
    sectorSize: proof.sectorSize,
    segmentIndex: index,
    segment: Buffer.from(proof.segment).toString('hex'),
    proof: proof.proof.map((h) => Buffer.from(h).toString('hex')),
  });
}
