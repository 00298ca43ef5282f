/**
 * A ContractAuthority that asks a Negotiator over its node's HTTP API:
 * GET <url>/ext/negotiator/contracts/<id>, HTTP basic auth user "x" and the
 * node's API key as password (bcoin's convention). 200 carries a
 * ContractInfo as JSON, 404 means unknown; anything else means the
 * Negotiator cannot answer now. The shape is documented in docs/server.md.
 */
import {
  AuthorityUnavailableError,
  parseServedContract,
  type ContractAuthority,
  type ServedContract,
} from './authority.js';
import { checkId } from './ids.js';

export interface HttpAuthorityOptions {
  /** Base URL of the Negotiator's node, e.g. http://127.0.0.1:48332. */
  url: string;
  /** The node's API key; omitted when the node runs without one. */
  apiKey?: string;
  /** Per-lookup time-out (default 5000 ms). */
  timeoutMs?: number;
}

/** The largest answer read; a contract record is a few hundred bytes. */
const MAX_ANSWER = 64 * 1024;

export class HttpContractAuthority implements ContractAuthority {
  private readonly base: URL;
  private readonly authorization: string | undefined;
  private readonly timeoutMs: number;

  constructor(options: HttpAuthorityOptions) {
    let base: URL;
    try {
      base = new URL(options.url);
    } catch {
      throw new TypeError(`negotiator url is not a URL: ${JSON.stringify(options.url)}`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new RangeError('negotiator url must be http: or https:');
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    this.base = base;
    this.authorization = options.apiKey === undefined ? undefined : `Basic ${Buffer.from(`x:${options.apiKey}`).toString('base64')}`;
    this.timeoutMs = options.timeoutMs ?? 5000;
    if (!Number.isSafeInteger(this.timeoutMs) || this.timeoutMs <= 0) throw new RangeError('timeoutMs must be a positive integer');
  }

  async lookup(contractId: string): Promise<ServedContract | null> {
    checkId(contractId, 'contractId');
    const url = new URL(`ext/negotiator/contracts/${contractId}`, this.base);
    let res: Response;
    try {
      res = await fetch(url, {
        headers: { accept: 'application/json', ...(this.authorization ? { authorization: this.authorization } : {}) },
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'error',
      });
    } catch (err) {
      throw new AuthorityUnavailableError(`negotiator at ${this.base.origin} unreachable: ${(err as Error).message}`);
    }
    if (res.status === 404) {
      await res.body?.cancel();
      return null;
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      const hint = res.status === 401 ? ' (check --api-key)' : '';
      throw new AuthorityUnavailableError(`negotiator answered HTTP ${res.status}${hint}`);
    }
    const text = await this._readBounded(res);
    try {
      return parseServedContract(JSON.parse(text), contractId);
    } catch (err) {
      throw new AuthorityUnavailableError(`negotiator sent a bad contract record: ${(err as Error).message}`);
    }
  }

  private async _readBounded(res: Response): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res.body ?? []) {
        size += chunk.length;
        if (size > MAX_ANSWER) throw new Error(`answer larger than ${MAX_ANSWER} bytes`);
        chunks.push(Buffer.from(chunk));
      }
    } catch (err) {
      throw new AuthorityUnavailableError(`negotiator answer unreadable: ${(err as Error).message}`);
    }
    return Buffer.concat(chunks).toString('utf8');
  }
}
