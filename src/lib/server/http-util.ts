/**
 * Small HTTP helpers shared by the file server's handlers: typed errors that
 * carry their status, and JSON answers in one shape
 * (`{ "error": { "code", "message" } }` for failures).
 */
import type { ServerResponse } from 'node:http';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    /** What went wrong underneath, for the server's log only: the client sees `message`. */
    cause?: unknown,
  ) {
    super(message, { cause });
    this.name = 'HttpError';
  }
}

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
