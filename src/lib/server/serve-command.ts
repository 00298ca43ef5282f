/**
 * `cloudcoin serve`: the file server tied to a Negotiator. Without
 * --negotiator it asks the node of the same data directory (its HTTP port and
 * API key are read from there); with --negotiator and --api-key it asks a
 * remote node, so the machine that stores the data needs no node at all.
 */
import { join } from 'node:path';
import type { Location } from '../config/settings.js';
import { CloudCoinError, ExitCode } from '../errors.js';
import { liveRuntime, readApiKey } from '../node/datafiles.js';
import { untilSignal } from '../node/signals.js';
import { HttpContractAuthority } from './authority-http.js';
import { tuneHeapForFileServer } from './heap.js';
import type { LogFormat } from './request-log.js';
import { startFileServer } from './file-server.js';
import { parseSize } from './size.js';

export const DEFAULT_SERVE_PORT = 48480;

export interface ServeOptions {
  location: Location;
  storage?: string;
  port?: number;
  host?: string;
  maxStorage?: string;
  negotiator?: string;
  apiKey?: string;
  logFormat?: LogFormat;
}

export interface ServeInfo {
  url: string;
  storage: string;
  negotiator: string;
  maxStorage: number | null;
}

async function localNegotiator(location: Location): Promise<{ url: string; apiKey: string }> {
  const apiKey = readApiKey(location.datadir);
  if (!apiKey) {
    throw new CloudCoinError('ENOAPIKEY', `no node API key in ${location.datadir}: start the node once, or use --negotiator and --api-key`, ExitCode.usage);
  }
  const running = liveRuntime(location.datadir);
  let port = running?.httpPort ?? location.config.httpPort;
  if (port === undefined) {
    const { networkSpec } = await import('../chain/networks.js');
    port = networkSpec(location.network).httpPort;
  }
  return { url: `http://127.0.0.1:${port}`, apiKey };
}

/** Starts the server and resolves once a signal has stopped it gracefully. */
export async function serve(opts: ServeOptions, onReady: (info: ServeInfo) => void): Promise<ServeInfo> {
  if (opts.negotiator && !opts.apiKey) {
    throw new CloudCoinError('ENOAPIKEY', '--negotiator needs --api-key (or CLOUDCOIN_API_KEY)', ExitCode.usage);
  }
  const negotiator = opts.negotiator ? { url: opts.negotiator, apiKey: opts.apiKey as string } : await localNegotiator(opts.location);
  const maxStorage = opts.maxStorage === undefined ? undefined : parseSize(opts.maxStorage);
  const storage = opts.storage ?? join(opts.location.datadir, 'sectors');
  tuneHeapForFileServer();
  const server = await startFileServer({
    storageDir: storage,
    port: opts.port ?? DEFAULT_SERVE_PORT,
    host: opts.host ?? '0.0.0.0',
    maxStorage,
    authority: new HttpContractAuthority(negotiator),
    logFormat: opts.logFormat ?? 'text',
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const info: ServeInfo = { url: server.url, storage, negotiator: negotiator.url, maxStorage: maxStorage ?? null };
  onReady(info);
  await untilSignal(() => server.close());
  return info;
}
