/**
 * GET /v1/probe?bytes=N (docs/server.md, "Endpoints"): N bytes a renter
 * times to learn how fast this host answers before it contracts
 * (src/lib/renter/host-choice.ts). It needs no signature, since a renter
 * probes hosts it has no contract with yet, so it must not become a way to
 * spend the host's bandwidth: each client address may probe a few times a
 * minute, all addresses together about 1 MiB a second (many addresses are
 * cheap, an IPv6 /64 alone holds more than anyone can track), and every
 * answer is a view of one buffer filled at start.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from '../errors.js';
import { RateLimiter, type RateLimitOptions } from './rate-limit.js';

export const PROBE_PATH = '/v1/probe';
export const PROBE_DEFAULT_BYTES = 256 * 1024;
export const PROBE_MAX_BYTES = 1024 * 1024;

/** The per-address defaults: 4 probes a minute, no more than 4 at once. */
const PER_ADDRESS: RateLimitOptions = { perSecond: 4 / 60, burst: 4 };
/** The server-wide defaults: 1 probe a second (1 MiB/s at most), bursts of 16 for renters choosing at once. */
const TOTAL: RateLimitOptions = { perSecond: 1, burst: 16 };

function _bytes(url: URL): number {
  const raw = url.searchParams.get('bytes');
  if (raw === null) return PROBE_DEFAULT_BYTES;
  if (!/^[1-9][0-9]{0,6}$/.test(raw) || Number(raw) > PROBE_MAX_BYTES) throw new HttpError(400, 'bad-bytes', `bytes must be an integer from 1 to ${PROBE_MAX_BYTES}`);
  return Number(raw);
}

export class ProbeRoute {
  /** Random, so that a compressing proxy on the way cannot shrink the answer and flatter the host. */
  private readonly body = randomBytes(PROBE_MAX_BYTES);
  private readonly perAddress: RateLimiter;
  private readonly total: RateLimiter;

  constructor(perAddress: RateLimitOptions = {}, total: RateLimitOptions = {}) {
    this.perAddress = new RateLimiter({ ...PER_ADDRESS, ...perAddress });
    this.total = new RateLimiter({ ...TOTAL, ...total, maxKeys: 1 });
  }

  /** The per-address limiter's memory, for the status page. */
  get addresses(): { size: number; max: number } {
    return { size: this.perAddress.size, max: this.perAddress.maxKeys };
  }

  handle(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (req.method !== 'GET') throw new HttpError(405, 'method-not-allowed', 'the probe is GET only', { allow: 'GET' });
    const bytes = _bytes(url);
    const address = req.socket.remoteAddress ?? '-';
    // Asked before the server-wide bucket is charged, so an address over its own limit cannot drain that one for others.
    const own = this.perAddress.wait(address);
    if (own > 0) throw new HttpError(429, 'rate-limited', 'too many probes from this address', { 'retry-after': String(own) });
    const all = this.total.take('all');
    if (all > 0) throw new HttpError(429, 'probe-busy', 'too many probes from everyone', { 'retry-after': String(all) });
    this.perAddress.take(address);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes, 'cache-control': 'no-store' });
    res.end(this.body.subarray(0, bytes));
  }
}
