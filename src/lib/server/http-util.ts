/**
 * JSON answers in one shape for the file server's handlers
 * (`{ "error": { "code", "message" } }` for failures, from an HttpError).
 */
import type { ServerResponse } from 'node:http';
import type { HttpError } from '../errors.js';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** Answers an error unless headers are already out, in which case the connection is cut so the client sees a failure. */
export function sendError(res: ServerResponse, err: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, err.status, { error: { code: err.code, message: err.message } }, err.headers);
}
