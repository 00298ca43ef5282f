/**
 * `cloudcoin serve`: the file server tied to a Negotiator. Without
 * --negotiator it asks the node of the same data directory (its HTTP port and
 * serve key are read from there); with --negotiator and --api-key it asks a
 * remote node, so the machine that stores the data needs no node at all. That
 * key should be the node's serve key (`node serve-key`), which opens only what
 * a file server asks.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Location } from '../config/settings.js';
import { CloudCoinError, ExitCode } from '../errors.js';
import { liveRuntime, readServeKey } from '../node/datafiles.js';
import { untilSignal } from '../node/signals.js';
import { AuthorityUnavailableError } from './authority.js';
import { parseCacheTtl } from './authority-cache.js';
import { HOST_KEY_WAIT_MS, HttpContractAuthority } from './authority-http.js';
import { tuneHeapForFileServer } from './heap.js';
import { isPubkeyHex } from './ids.js';
import type { LogFormat } from './request-log.js';
import { startFileServer } from './file-server.js';
import { parseSize } from '../units.js';

export const DEFAULT_SERVE_PORT = 48480;

export interface ServeOptions {
  location: Location;
  storage?: string;
  port?: number;
  host?: string;
  maxStorage?: string;
  negotiator?: string;
  apiKey?: string;
  /** PEM file of the CA(s) an https: Negotiator's certificate must chain to. */
  negotiatorCa?: string;
  /** Allows an http: Negotiator off loopback. */
  insecure?: boolean;
  /** Serve only contracts with this host key (66 hex); default: the Negotiator's identity. */
  hostKey?: string;
  logFormat?: LogFormat;
  /** How long a contract's answer from the Negotiator is reused, e.g. `30s` (parseCacheTtl). */
  cacheTtl?: string;
}

export interface ServeInfo {
  url: string;
  storage: string;
  negotiator: string;
  /** The host key of the contracts served. */
  hostKey: string;
  maxStorage: number | null;
}

async function localNegotiator(location: Location): Promise<{ url: string; apiKey: string }> {
  const apiKey = readServeKey(location.datadir);
  if (!apiKey) {
    throw new CloudCoinError('ENOAPIKEY', `no node API key (serve.key) in ${location.datadir}: start the node once, or use --negotiator and --api-key`, ExitCode.usage);
  }
  const running = liveRuntime(location.datadir);
  let port = running?.httpPort ?? location.config.httpPort;
  if (port === undefined) {
    const { networkSpec } = await import('../chain/networks.js');
    port = networkSpec(location.network).httpPort;
  }
  return { url: `http://127.0.0.1:${port}`, apiKey };
}

function readCa(path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new CloudCoinError('EUSAGE', `cannot read --negotiator-ca: ${(err as Error).message}`, ExitCode.usage);
  }
}

/**
 * The Negotiator's identity, which its contracts name as host: without it the
 * server would store sectors for any contract on chain, a renter's contract
 * with a host of its own included, until the disk is full.
 */
async function _negotiatorHostKey(authority: HttpContractAuthority): Promise<string> {
  try {
    return await authority.hostKey(HOST_KEY_WAIT_MS);
  } catch (err) {
    if (!(err instanceof AuthorityUnavailableError)) throw err;
    throw new CloudCoinError('ENEGOTIATOR', `cannot learn this host's key from its Negotiator: ${err.message}; start the node, or give --host-key`, ExitCode.nodeNotRunning);
  }
}

/** Starts the server and resolves once a signal has stopped it gracefully. */
export async function serve(opts: ServeOptions, onReady: (info: ServeInfo) => void): Promise<ServeInfo> {
  if (opts.negotiator && !opts.apiKey) {
    throw new CloudCoinError('ENOAPIKEY', '--negotiator needs --api-key (or CLOUDCOIN_API_KEY)', ExitCode.usage);
  }
  if (opts.hostKey !== undefined && !isPubkeyHex(opts.hostKey)) {
    throw new CloudCoinError('EUSAGE', '--host-key must be a 66-hex compressed public key', ExitCode.usage);
  }
  const negotiator = opts.negotiator ? { url: opts.negotiator, apiKey: opts.apiKey as string } : await localNegotiator(opts.location);
  const maxStorage = opts.maxStorage === undefined ? undefined : parseSize(opts.maxStorage);
  const ttlMs = opts.cacheTtl === undefined ? undefined : parseCacheTtl(opts.cacheTtl);
  const storage = opts.storage ?? join(opts.location.datadir, 'sectors');
  const authority = new HttpContractAuthority({ ...negotiator, ca: readCa(opts.negotiatorCa), insecure: opts.insecure });
  const hostKey = opts.hostKey ?? (await _negotiatorHostKey(authority));
  tuneHeapForFileServer();
  const server = await startFileServer({
    storageDir: storage,
    port: opts.port ?? DEFAULT_SERVE_PORT,
    host: opts.host ?? '0.0.0.0',
    maxStorage,
    authority,
    signer: authority,
    hostKey,
    logFormat: opts.logFormat ?? 'text',
    cache: { ttlMs },
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const info: ServeInfo = { url: server.url, storage, negotiator: negotiator.url, hostKey, maxStorage: maxStorage ?? null };
  // Whoever reads the ready line may signal at once: the graceful stop must be in place before it.
  const stopped = untilSignal(() => server.close());
  onReady(info);
  await stopped;
  return info;
}
