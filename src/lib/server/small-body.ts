/**
 * The whole body of a small signed JSON request (a revision, a carry),
 * bounded in size and time: a client cannot hold the server's memory or a connection
 * with a slow or endless one.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpError } from '../errors.js';
import { HEADER } from './request-auth.js';
import type { RouteNotes } from './route-context.js';

/** The body, once it is whole and matches the sha256 the request's signature covers. */
export async function readSmallBody(req: IncomingMessage, max: number, timeoutMs: number, notes: RouteNotes, what: string): Promise<Buffer> {
  const header = req.headers['content-length'];
  if (header === undefined) throw new HttpError(411, 'length-required', `${what} needs a Content-Length`);
  if (!/^[0-9]{1,10}$/.test(header) || Number(header) > max) {
    throw new HttpError(413, 'body-too-large', `${what} has a Content-Length of at most ${max} bytes`, { connection: 'close' });
  }
  const timer = setTimeout(() => req.destroy(new HttpError(408, 'body-timeout', 'request body too slow')), timeoutMs);
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of req) {
      notes.bytesIn += chunk.length;
      if (notes.bytesIn > max) throw new HttpError(413, 'body-too-large', `body longer than ${max} bytes`, { connection: 'close' });
      chunks.push(chunk as Buffer);
    }
  } finally {
    clearTimeout(timer);
  }
  const body = Buffer.concat(chunks);
  if (createHash('sha256').update(body).digest('hex') !== req.headers[HEADER.bodySha256]) throw new HttpError(400, 'bad-body', 'body does not match its signed sha256');
  return body;
}
