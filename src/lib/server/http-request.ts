/**
 * One HTTP request over node:http(s) with keep-alive, the body read into a
 * single buffer of the announced length. The file server client uses this
 * rather than fetch: undici copies every request body it is handed and
 * gathers responses in small pieces, which for 2-4 MiB shards cost more CPU
 * than the hashing and encryption around them (measured in `npm run bench`).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpRequestOptions {
  method: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  timeoutMs: number;
  /** Largest body accepted; a longer answer is an error (default 64 MiB). */
  maxBody?: number;
  /**
   * Memory for the answer's body: used when the announced length fits, the
   * answer's body then being a view of it from its start. Lets a caller read
   * shard after shard into the same few buffers.
   */
  into?: Buffer;
}

// Idle sockets are kept a little while for the next shard and never keep the process alive.
const _agents = { 'http:': new HttpAgent({ keepAlive: true, keepAliveMsecs: 1000, timeout: 60_000 }), 'https:': new HttpsAgent({ keepAlive: true, keepAliveMsecs: 1000, timeout: 60_000 }) };

/**
 * Ends every request still out and closes idle sockets. A command calls this
 * when its work is done: a host that took a connection but never answered
 * would otherwise keep the process alive until the request's own time-out.
 */
export function abortHttpRequests(): void {
  for (const agent of Object.values(_agents)) agent.destroy();
}

/** Sends one request; rejects on network errors, time-outs and over-long answers, resolves with any status. */
export function sendHttp(url: URL, opts: HttpRequestOptions): Promise<HttpAnswer> {
  const https = url.protocol === 'https:';
  const maxBody = opts.maxBody ?? 64 * 1024 * 1024;
  const headers: Record<string, string | number> = { ...opts.headers };
  if (opts.body) headers['content-length'] = opts.body.length;
  return new Promise((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)(url, { method: opts.method, headers, agent: _agents[https ? 'https:' : 'http:'] }, (res) => {
      const announced = Number(res.headers['content-length']);
      const sized = Number.isSafeInteger(announced) && announced >= 0 && announced <= maxBody;
      let body = !sized ? Buffer.alloc(0) : opts.into && opts.into.length >= announced ? opts.into : Buffer.allocUnsafe(announced);
      let got = 0;
      res.on('data', (d: Buffer) => {
        if (got + d.length > (sized ? announced : maxBody)) {
          reject(new Error(`answer longer than ${sized ? announced : maxBody} bytes`));
          req.destroy();
          return;
        }
        if (sized) d.copy(body, got);
        else body = Buffer.concat([body, d]);
        got += d.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: sized ? body.subarray(0, got) : body }));
      res.on('error', reject);
    });
    req.setTimeout(opts.timeoutMs, () => req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}
