/**
 * One HTTP request with keep-alive, the body read into a single buffer of the
 * announced length. The file server client uses this rather than fetch:
 * undici copies every request body it is handed and gathers responses in
 * small pieces, which for 2-4 MiB shards cost more CPU than the hashing and
 * encryption around them (measured in `npm run bench`). GETs over plain HTTP,
 * a pull's shards, go through GetConnection, which reads a body straight into
 * its destination; everything else, and any answer it does not frame, through
 * node:http(s).
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { GetConnection, UnframedAnswerError } from './get-connection.js';
import type { HttpAnswer } from './http-answer.js';

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
  for (const conn of _connections) conn.destroy();
  _connections.clear();
  _idle.clear();
}

/** Every GetConnection not yet closed by abortHttpRequests, and the idle ones by host. */
const _connections = new Set<GetConnection>();
const _idle = new Map<string, GetConnection[]>();
/** Idle connections kept per host: as many as a pull asks one host for at once, and some. */
const _IDLE_MAX = 8;

function _take(url: URL): GetConnection {
  const idle = _idle.get(url.host);
  for (let conn = idle?.pop(); conn; conn = idle?.pop()) {
    if (conn.reusable) return conn;
    // Closed by the server while it idled.
    _connections.delete(conn);
  }
  // WHATWG URLs keep an IPv6 literal's brackets in hostname; connect() wants the address.
  const conn = new GetConnection(url.hostname.replace(/^\[(.*)\]$/, '$1'), Number(url.port || 80), url.host);
  _connections.add(conn);
  return conn;
}

function _keep(url: URL, conn: GetConnection): void {
  let idle = _idle.get(url.host);
  if (!idle) _idle.set(url.host, (idle = []));
  if (conn.reusable && idle.length < _IDLE_MAX) idle.push(conn);
  else {
    conn.destroy();
    _connections.delete(conn);
  }
}

/** A plain-HTTP GET on a kept connection; once more on a new one if the kept one had been closed under it. */
async function _get(url: URL, opts: HttpRequestOptions, maxBody: number): Promise<HttpAnswer> {
  for (;;) {
    const conn = _take(url);
    try {
      const answer = await conn.get(url.pathname + url.search, { headers: opts.headers ?? {}, timeoutMs: opts.timeoutMs, maxBody, into: opts.into });
      _keep(url, conn);
      return answer;
    } catch (err) {
      _connections.delete(conn);
      if (!conn.stale || err instanceof UnframedAnswerError) throw err;
    }
  }
}

/** Sends one request; rejects on network errors, time-outs and over-long answers, resolves with any status. */
export async function sendHttp(url: URL, opts: HttpRequestOptions): Promise<HttpAnswer> {
  if (url.protocol === 'http:' && opts.method === 'GET' && !opts.body) {
    try {
      return await _get(url, opts, opts.maxBody ?? 64 * 1024 * 1024);
    } catch (err) {
      if (!(err instanceof UnframedAnswerError)) throw err;
    }
  }
  return _sendNodeHttp(url, opts);
}

function _sendNodeHttp(url: URL, opts: HttpRequestOptions): Promise<HttpAnswer> {
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
