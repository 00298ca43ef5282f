/**
 * GET / and GET /status: the server's health at a glance, as HTML for a
 * person and as JSON for a machine (`Accept: application/json`). It needs no
 * signature and shows only totals, never contract or sector ids.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './http-util.js';

export interface ServerStatus {
  software: 'cloudcoin-serve';
  protocol: 'v1';
  uptimeSeconds: number;
  contracts: number;
  usedBytes: number;
  reservedBytes: number;
  maxStorageBytes: number | null;
  requestsServed: number;
  requestsInFlight: number;
  shuttingDown: boolean;
  /** The Negotiator as the cache sees it; no address or error text (this page is public). */
  authority: { cachedContracts: number; staleAnswers: number; unreachableSince: string | null };
  /** What the server remembers about requests, each against its cap (docs/server.md, "Limits and safety"). */
  memory: {
    nonces: Bounded;
    renterKeys: Bounded;
    refusedAddresses: Bounded;
    knownContracts: Bounded;
    unknownContracts: Bounded;
    /** Addresses whose throughput probes are being counted (probe-route.ts). */
    probeAddresses: Bounded;
    lookupsInFlight: number;
  };
}

export interface Bounded {
  size: number;
  max: number;
}

function _escape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function _human(bytes: number | null): string {
  if (bytes === null) return 'unlimited';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function sendStatus(req: IncomingMessage, res: ServerResponse, status: ServerStatus): void {
  const accept = req.headers.accept ?? '';
  if (accept.includes('application/json') && !accept.includes('text/html')) {
    sendJson(res, 200, status);
    return;
  }
  const rows: [string, string][] = [
    ['Uptime', `${status.uptimeSeconds} s`],
    ['Contracts with data', String(status.contracts)],
    ['Stored', _human(status.usedBytes)],
    ['Uploads in flight', _human(status.reservedBytes)],
    ['Storage limit', _human(status.maxStorageBytes)],
    ['Requests served', String(status.requestsServed)],
    ['Requests in flight', String(status.requestsInFlight)],
    ['Negotiator', status.authority.unreachableSince ? `unreachable since ${status.authority.unreachableSince}, serving cached contracts` : 'ok'],
  ];
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CloudCoin file server</title>
<style>body{font:15px system-ui,sans-serif;margin:2em}td{padding:.2em 1em .2em 0}</style></head>
<body><h1>CloudCoin file server${status.shuttingDown ? ' (shutting down)' : ''}</h1>
<table>${rows.map(([k, v]) => `<tr><td>${_escape(k)}</td><td>${_escape(v)}</td></tr>`).join('')}</table>
<p>Machine-readable: request this page with <code>Accept: application/json</code>.</p></body></html>
`;
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html), 'cache-control': 'no-store' });
  res.end(html);
}
