/**
 * startFileServer: the file server as a library, for `cloudcoin serve` and
 * for the single-file bundle (bundle-main.ts). Plain node:http: no native module, no
 * framework to bundle, and direct access to the time-outs that defend
 * against slow clients (docs/server.md, "Why node:http").
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { HttpError, portInUseError } from '../errors.js';
import type { ContractAuthority, RevisionSigner } from './authority.js';
import { CachingAuthority, type CacheOptions } from './authority-cache.js';
import { sendError } from './http-util.js';
import { isPubkeyHex } from './ids.js';
import { RateLimiter, type RateLimitOptions } from './rate-limit.js';
import { NonceCache } from './request-auth.js';
import { PROBE_PATH, ProbeRoute } from './probe-route.js';
import { createRequestLogger, type LogFormat } from './request-log.js';
import { sectorBufferPool } from './sector-buffers.js';
import type { RouteContext, RouteNotes } from './route-context.js';
import { handleSector, parseSectorPath } from './routes.js';
import { SectorRoots } from './sector-roots.js';
import { SectorStore } from './sector-store.js';
import { checkStorageDir } from './storage-dir.js';
import { sendStatus, type ServerStatus } from './status-page.js';
import { ContractSweeper, type SweepOptions } from './sweep.js';

export interface FileServerOptions {
  /** Directory holding the sectors (created if missing). */
  storageDir: string;
  /** TCP port; 0 picks a free one (default 0). */
  port?: number;
  /** Interface to listen on (default 127.0.0.1; use 0.0.0.0 to serve the world). */
  host?: string;
  /** Total bytes the server may store (default: unlimited but for the disk). */
  maxStorage?: number;
  /** Write sectors with O_DIRECT, around the page cache (default: when the storage directory's file system allows it). */
  directWrites?: boolean;
  /** Who says which contracts are live; wrapped in a CachingAuthority unless it is one. */
  authority: ContractAuthority;
  /** Options of that cache wrapper. */
  cache?: CacheOptions;
  /** Who countersigns commitment revisions (the Negotiator; HttpContractAuthority is one); without it POST .../revision answers 503. */
  signer?: RevisionSigner;
  /** The periodic deletion of the sectors of contracts that are over (sweep.ts). */
  sweep?: SweepOptions;
  /** One line per request: text, JSON lines, or nothing (default text). */
  logFormat?: LogFormat;
  /** Where log lines go (default stdout). */
  log?: (line: string) => void;
  /**
   * A path prefix the server answers under, e.g. `/cc` (default none): behind
   * a proxy or Passenger that forwards `/cc/v1/...` as it came. Requests outside
   * it are 404.
   */
  basePath?: string;
  /** The host's key (66 hex): serve only contracts whose hostKey is this one. */
  hostKey?: string;
  /** Accepted clock difference of signed requests (default 300000 ms); nonces are kept twice as long. */
  skewMs?: number;
  /** Nonces remembered at most; when they are all within their time, requests are refused 503 (default 100000). */
  maxNonces?: number;
  /** Requests per renter key (default 50/s, bursts of 100). */
  rateLimit?: RateLimitOptions;
  /** Refused requests (401s; 403s for no contract or another's) per client address before it is turned away unchecked (default 20/s, bursts of 200). */
  failureLimit?: RateLimitOptions;
  /** Throughput probes (GET /v1/probe) per client address (default 4 a minute, bursts of 4). */
  probeLimit?: RateLimitOptions;
  /** Throughput probes from all addresses together (default 1/s, bursts of 16). */
  probeTotalLimit?: RateLimitOptions;
  /** Time for a client to send its headers (default 10000 ms). */
  headersTimeoutMs?: number;
  /** Time for a whole upload body to arrive (default 60000 ms). */
  bodyTimeoutMs?: number;
  /** Time close() waits for requests in flight before cutting connections (default 30000 ms). */
  shutdownGraceMs?: number;
}

export interface FileServer {
  /** http://host:port/base-path, with the port actually bound (unix:<path> when a Unix socket was bound in its place, as under Passenger). */
  url: string;
  status(): ServerStatus;
  /** Stops accepting, lets requests in flight (uploads included) finish, then closes. Idempotent. */
  close(): Promise<void>;
}

function _ms(v: number | undefined, fallback: number, what: string): number {
  const n = v ?? fallback;
  if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`${what} must be a positive integer of milliseconds, got ${v}`);
  return n;
}

/** '' for none; otherwise '/a/b' with no trailing slash. */
function _basePath(value: string | undefined): string {
  if (value === undefined || value === '' || value === '/') return '';
  if (!/^(\/[A-Za-z0-9._~-]+)+\/?$/.test(value)) throw new RangeError(`basePath must be a path such as /cloudcoin, got ${JSON.stringify(value)}`);
  return value.replace(/\/$/, '');
}

export async function startFileServer(options: FileServerOptions): Promise<FileServer> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  if (typeof options.authority?.lookup !== 'function') throw new TypeError('options.authority must be a ContractAuthority');
  if (options.hostKey !== undefined && !isPubkeyHex(options.hostKey)) throw new RangeError('hostKey must be a 66-hex compressed public key');
  const port = options.port ?? 0;
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) throw new RangeError(`port must be 0-65535, got ${options.port}`);
  const skewMs = _ms(options.skewMs, 300_000, 'skewMs');
  const headersTimeoutMs = _ms(options.headersTimeoutMs, 10_000, 'headersTimeoutMs');
  const bodyTimeoutMs = _ms(options.bodyTimeoutMs, 60_000, 'bodyTimeoutMs');
  const graceMs = _ms(options.shutdownGraceMs, 30_000, 'shutdownGraceMs');
  const log = createRequestLogger(options.logFormat ?? 'text', options.log);
  const basePath = _basePath(options.basePath);

  await checkStorageDir(options.storageDir);
  const store = await SectorStore.open(options.storageDir, options.maxStorage, { direct: options.directWrites });
  const authority = options.authority instanceof CachingAuthority ? options.authority : new CachingAuthority(options.authority, options.cache);
  const ctx: RouteContext = {
    store,
    readBuffers: sectorBufferPool(),
    authority,
    nonces: new NonceCache(skewMs, options.maxNonces),
    limiter: new RateLimiter(options.rateLimit),
    failures: new RateLimiter({ perSecond: 20, burst: 200, ...options.failureLimit }),
    skewMs,
    hostKey: options.hostKey,
    bodyTimeoutMs,
    roots: new SectorRoots(store),
    signer: options.signer,
  };
  const probe = new ProbeRoute(options.probeLimit, options.probeTotalLimit);
  const sweeper = new ContractSweeper(store, authority, log, options.sweep);
  const started = Date.now();
  let served = 0;
  let inFlight = 0;
  let closing: Promise<void> | null = null;
  let drained: () => void = () => undefined;

  const status = (): ServerStatus => {
    const s = store.stats();
    const a = authority.stats();
    return {
      software: 'cloudcoin-serve',
      protocol: 'v1',
      uptimeSeconds: Math.floor((Date.now() - started) / 1000),
      contracts: s.contracts,
      usedBytes: s.usedBytes,
      reservedBytes: s.reservedBytes,
      maxStorageBytes: options.maxStorage ?? null,
      requestsServed: served,
      requestsInFlight: inFlight,
      shuttingDown: closing !== null,
      authority: {
        cachedContracts: a.entries,
        staleAnswers: a.staleAnswers,
        unreachableSince: a.unreachableSince === null ? null : new Date(a.unreachableSince).toISOString(),
      },
      memory: {
        nonces: { size: ctx.nonces.size, max: ctx.nonces.max },
        renterKeys: { size: ctx.limiter.size, max: ctx.limiter.maxKeys },
        refusedAddresses: { size: ctx.failures.size, max: ctx.failures.maxKeys },
        knownContracts: { size: a.entries, max: a.maxEntries },
        unknownContracts: { size: a.unknown, max: a.maxUnknown },
        probeAddresses: probe.addresses,
        lookupsInFlight: a.lookupsInFlight,
      },
    };
  };

  async function route(req: IncomingMessage, res: ServerResponse, notes: RouteNotes): Promise<void> {
    if (closing) throw new HttpError(503, 'shutting-down', 'server is shutting down', { connection: 'close' });
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (basePath) {
      if (url.pathname !== basePath && !url.pathname.startsWith(`${basePath}/`)) throw new HttpError(404, 'not-found', 'no such endpoint');
      url.pathname = url.pathname.slice(basePath.length) || '/';
    }
    if (url.pathname === '/' || url.pathname === '/status') {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'method-not-allowed', 'status is read-only', { allow: 'GET, HEAD' });
      return sendStatus(req, res, status());
    }
    if (url.pathname === PROBE_PATH) return probe.handle(req, res, url);
    const target = parseSectorPath(url.pathname);
    if (target === null) throw new HttpError(404, 'not-found', 'no such endpoint');
    return handleSector(ctx, req, res, url, target, notes);
  }

  const server = createServer({ connectionsCheckingInterval: Math.min(1000, headersTimeoutMs) }, (req, res) => {
    const t0 = performance.now();
    const notes: RouteNotes = { bytesIn: 0 };
    const socket = req.socket;
    const writtenBefore = socket.bytesWritten;
    let error: string | undefined;
    inFlight++;
    res.on('close', () => {
      inFlight--;
      served++;
      log({
        time: new Date().toISOString(),
        remote: socket.remoteAddress ?? '-',
        method: req.method ?? '-',
        path: (req.url ?? '').slice(0, 200),
        status: res.writableFinished ? res.statusCode : error ? res.statusCode : 499,
        bytesIn: notes.bytesIn,
        bytesOut: socket.bytesWritten - writtenBefore,
        ms: performance.now() - t0,
        ...(notes.key ? { key: notes.key } : {}),
        ...(error ? { error } : {}),
      });
      if (inFlight === 0) drained();
    });
    route(req, res, notes).catch((err: unknown) => {
      const httpErr = err instanceof HttpError ? err : new HttpError(500, 'internal', 'internal error');
      const cause = httpErr.cause instanceof Error ? `: ${httpErr.cause.message}` : '';
      error = err instanceof HttpError ? `${err.code}${cause}` : `internal: ${(err as Error).message}`;
      sendError(res, httpErr);
    });
  });
  server.headersTimeout = headersTimeoutMs;
  // A whole request may take its headers and body time, plus some slack for the disk.
  server.requestTimeout = headersTimeoutMs + bodyTimeoutMs + 5000;
  server.keepAliveTimeout = 5000;
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // A client that hangs up between requests is not an event worth a log line.
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return void socket.destroy();
    const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    if (socket.writable && !socket.writableEnded) {
      socket.end(timeout ? 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n' : 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    }
    socket.destroySoon();
    log({ time: new Date().toISOString(), remote: socket.remoteAddress ?? '-', method: '-', path: '-', status: timeout ? 408 : 400, bytesIn: 0, bytesOut: 0, ms: 0, error: err.code ?? 'client-error' });
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await store.close();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw portInUseError('file server', port);
    throw err;
  }
  sweeper.start();
  const addr = server.address() as AddressInfo | string;
  // Passenger hands the app a Unix socket in place of the port it asked for.
  const url = typeof addr === 'string' ? `unix:${addr}` : `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}${basePath}`;

  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      const grace = setTimeout(() => server.closeAllConnections(), graceMs);
      const idle = inFlight === 0 ? Promise.resolve() : new Promise<void>((r) => (drained = r));
      void idle.then(() => server.closeAllConnections());
      void closed.then(async () => {
        clearTimeout(grace);
        await sweeper.stop();
        await store.close();
        resolve();
      });
    });
    return closing;
  };

  return { url, status, close };
}
