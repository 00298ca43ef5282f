/**
 * The node's HTTP API on a second address (`node start --http-host`), for a
 * file server on another machine. The API's own listener stays on 127.0.0.1
 * without TLS, for the CLI on this machine; the second listener hands each
 * request to the same bcoin server, so both check the same keys (api-auth.ts).
 * WebSocket upgrades are not passed on: a file server needs none.
 *
 * Off loopback the API keys would cross the network in the clear, so a
 * non-loopback address needs a certificate and key (HTTPS), or
 * `--http-behind-proxy`, the operator's word that a reverse proxy in front
 * terminates TLS and the path from it is private (docs/node.md).
 */
import { createSecureContext } from 'node:tls';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { isIP } from 'node:net';
import type { EventEmitter } from 'node:events';
import { CloudCoinError, ExitCode } from '../errors.js';
import { isLoopbackHost } from './loopback.js';

export interface RemoteApiOptions {
  /** The address to listen on as well: one IP address of this machine. */
  host?: string;
  /** PEM certificate (chain) and private key files; both or neither. */
  tlsCert?: string;
  tlsKey?: string;
  /** Plain HTTP off loopback, because a reverse proxy terminates TLS. */
  behindProxy?: boolean;
}

export interface RemoteApiPlan {
  host: string;
  tls: { cert: Buffer; key: Buffer } | null;
}

export interface RemoteApi {
  url: string;
  close(): Promise<void>;
}

function usage(message: string): CloudCoinError {
  return new CloudCoinError('EHTTPHOST', message, ExitCode.usage);
}

/** Checks the flags before anything starts; null when there is no second address. */
export function planRemoteApi(opts: RemoteApiOptions): RemoteApiPlan | null {
  const { host, tlsCert, tlsKey, behindProxy } = opts;
  if (host === undefined) {
    if (tlsCert !== undefined || tlsKey !== undefined || behindProxy) throw usage('--http-tls-cert, --http-tls-key and --http-behind-proxy need --http-host');
    return null;
  }
  if (isIP(host) === 0) throw usage(`--http-host must be an IP address of this machine, got ${JSON.stringify(host)}`);
  if (host === '0.0.0.0' || host === '::') throw usage('--http-host must name one address: the API keeps its own listener on 127.0.0.1, which 0.0.0.0 or :: would take');
  if (host === '127.0.0.1') throw usage('--http-host 127.0.0.1 is where the API listens already');
  if ((tlsCert === undefined) !== (tlsKey === undefined)) throw usage('--http-tls-cert and --http-tls-key go together');
  if (tlsCert !== undefined && behindProxy) throw usage('--http-behind-proxy means no TLS here; drop it or the certificate');
  if (tlsCert === undefined) {
    if (!isLoopbackHost(host) && !behindProxy) {
      throw usage(`the HTTP API on ${host} would carry the API keys in the clear: give --http-tls-cert and --http-tls-key, or --http-behind-proxy if a reverse proxy terminates TLS`);
    }
    return { host, tls: null };
  }
  let tls: { cert: Buffer; key: Buffer };
  try {
    tls = { cert: readFileSync(tlsCert), key: readFileSync(tlsKey as string) };
    createSecureContext(tls);
  } catch (err) {
    throw usage(`cannot use the TLS certificate and key: ${(err as Error).message}`);
  }
  return { host, tls };
}

/** Opens the second listener on `plan.host`, port `port`, in front of bcoin's HTTP server. */
export async function openRemoteApi(bcoinHttp: unknown, plan: RemoteApiPlan, port: number): Promise<RemoteApi> {
  // bweb answers whatever its node:http server emits as 'request', whichever socket it came from.
  const inner = (bcoinHttp as { http: EventEmitter }).http;
  const forward = (req: IncomingMessage, res: ServerResponse) => inner.emit('request', req, res);
  const server: Server = plan.tls ? createHttpsServer(plan.tls, forward) : createHttpServer(forward);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(new CloudCoinError('EPORT', `cannot listen on ${plan.host}:${port}: ${err.message}`, err.code === 'EADDRINUSE' ? ExitCode.conflict : ExitCode.failure));
    });
    server.listen(port, plan.host, () => resolve());
  });
  const name = isIP(plan.host) === 6 ? `[${plan.host}]` : plan.host;
  return {
    url: `${plan.tls ? 'https' : 'http'}://${name}:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
