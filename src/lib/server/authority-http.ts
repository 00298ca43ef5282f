/**
 * A ContractAuthority that asks a Negotiator over its node's HTTP API:
 * GET <url>/ext/negotiator/contracts/<id>, HTTP basic auth user "x" and the
 * node's API key as password (bcoin's convention). 200 carries a
 * ContractInfo as JSON, 404 means unknown; anything else means the
 * Negotiator cannot answer now. The shape is documented in docs/server.md.
 * For an expired contract the node's chain height (GET <url>/, bcoin's info)
 * comes with the answer: it tells whether the contract's data is still read.
 * It is the server's RevisionSigner too (POST .../contracts/<id>/revisions).
 * It also names this host's key (hostKey), so that a server serves only the
 * contracts its own host signed.
 *
 * The key crosses the network with every request, so plain http: is for a
 * Negotiator on loopback only, unless the caller says `insecure`; https: checks
 * the node's certificate against the system's CAs or, given `ca`, against
 * those alone (a self-signed certificate). node:http(s) rather than fetch,
 * because fetch takes no CA of its own.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { CloudCoinError, ExitCode } from '../errors.js';
import { isLoopbackHost } from '../node/loopback.js';
import {
  AuthorityUnavailableError,
  NegotiatorRefusedError,
  parseServedContract,
  type ContractAuthority,
  type RevisionSigner,
  type ServedContract,
} from './authority.js';
import { checkId, isPubkeyHex } from './ids.js';

export interface HttpAuthorityOptions {
  /** Base URL of the Negotiator's node, e.g. http://127.0.0.1:48332. */
  url: string;
  /** The node's API key; omitted when the node runs without one. */
  apiKey?: string;
  /** Per-lookup time-out (default 5000 ms). */
  timeoutMs?: number;
  /** PEM CA certificate(s) an https: Negotiator's certificate must chain to, instead of the system's. */
  ca?: string | Buffer;
  /** Allows http: to a Negotiator that is not on loopback, the API key readable on the way. */
  insecure?: boolean;
}

/** An answer whose body is read (_readBounded) or dropped (_drop). */
interface Answer {
  status: number;
  body: IncomingMessage;
}

/** How long a starting server waits for its Negotiator to name the host key. */
export const HOST_KEY_WAIT_MS = 30_000;

/** The largest answer read; a contract record is a few hundred bytes. */
const MAX_ANSWER = 64 * 1024;

export class HttpContractAuthority implements ContractAuthority, RevisionSigner {
  private readonly base: URL;
  private readonly authorization: string | undefined;
  private readonly timeoutMs: number;
  private readonly agent: HttpsAgent | undefined;

  constructor(options: HttpAuthorityOptions) {
    let base: URL;
    try {
      base = new URL(options.url);
    } catch {
      throw new TypeError(`negotiator url is not a URL: ${JSON.stringify(options.url)}`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new RangeError('negotiator url must be http: or https:');
    if (base.protocol === 'http:' && !isLoopbackHost(base.hostname) && !options.insecure) {
      throw new CloudCoinError('EINSECURE', `refusing http:// to ${base.host}, which would carry the API key in the clear: use https:// (with --negotiator-ca for a self-signed certificate), or --insecure`, ExitCode.usage);
    }
    if (options.ca !== undefined && base.protocol !== 'https:') throw new CloudCoinError('EUSAGE', 'a Negotiator CA (--negotiator-ca) needs an https:// url', ExitCode.usage);
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    this.base = base;
    this.authorization = options.apiKey === undefined ? undefined : `Basic ${Buffer.from(`x:${options.apiKey}`).toString('base64')}`;
    this.timeoutMs = options.timeoutMs ?? 5000;
    if (!Number.isSafeInteger(this.timeoutMs) || this.timeoutMs <= 0) throw new RangeError('timeoutMs must be a positive integer');
    this.agent = options.ca === undefined ? undefined : new HttpsAgent({ ca: options.ca, keepAlive: true });
  }

  async lookup(contractId: string): Promise<ServedContract | null> {
    checkId(contractId, 'contractId');
    const res = await this._get(`ext/negotiator/contracts/${contractId}`);
    if (res.status === 404) {
      _drop(res);
      return null;
    }
    if (res.status !== 200) {
      _drop(res);
      throw new AuthorityUnavailableError(`negotiator answered HTTP ${res.status}${_hint(res.status)}`);
    }
    const text = await this._readBounded(res);
    let record: ServedContract;
    try {
      record = parseServedContract(JSON.parse(text), contractId);
    } catch (err) {
      throw new AuthorityUnavailableError(`negotiator sent a bad contract record: ${(err as Error).message}`);
    }
    if (record.state === 'expired') record.tipHeight = await this._tipHeight();
    return record;
  }

  /** The height of the node's chain, from bcoin's GET / (`chain.height`). */
  private async _tipHeight(): Promise<number> {
    const res = await this._get('');
    if (res.status !== 200) {
      _drop(res);
      throw new AuthorityUnavailableError(`node answered HTTP ${res.status} to GET /${_hint(res.status)}`);
    }
    let height: unknown;
    try {
      height = JSON.parse(await this._readBounded(res))?.chain?.height;
    } catch {
      // Not JSON: refused below as an answer without a height.
    }
    if (!Number.isSafeInteger(height) || (height as number) < 0) throw new AuthorityUnavailableError('node sent no chain height');
    return height as number;
  }

  /**
   * The Negotiator's countersignature of a renter-signed commitment revision:
   * its answer's `revision` (hex). A 4xx answer is a refusal, its message the
   * Negotiator's; anything else that is not 200 means it cannot answer now.
   */
  async countersign(contractId: string, revisionHex: string): Promise<string> {
    checkId(contractId, 'contractId');
    const res = await this._send(`ext/negotiator/contracts/${contractId}/revisions`, 'POST', JSON.stringify({ revision: revisionHex }));
    const text = await this._readBounded(res);
    let answer: { revision?: unknown; error?: { message?: unknown } } | undefined;
    try {
      answer = JSON.parse(text);
    } catch {
      // A body that is not JSON leaves the status to speak.
    }
    if (res.status >= 400 && res.status < 500 && res.status !== 401) {
      const message = typeof answer?.error?.message === 'string' ? answer.error.message : `HTTP ${res.status}`;
      throw new NegotiatorRefusedError(message, res.status);
    }
    if (res.status !== 200) throw new AuthorityUnavailableError(`negotiator answered HTTP ${res.status}${_hint(res.status)}`);
    if (typeof answer?.revision !== 'string' || !/^([0-9a-f]{2})+$/.test(answer.revision)) throw new AuthorityUnavailableError('negotiator sent no revision');
    return answer.revision;
  }

  /**
   * This host's key: the identity of the Negotiator's node
   * (GET ext/negotiator/identity), the key its contracts name as host.
   * Asked again every half second for up to `waitMs` while the node cannot
   * answer (a server may start beside a node that is still starting), then
   * AuthorityUnavailableError; a CloudCoinError at once where asking again
   * would not help (a refused API key, a node without a Negotiator, a bad answer).
   */
  async hostKey(waitMs = 0): Promise<string> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      try {
        return await this._askHostKey();
      } catch (err) {
        if (!(err instanceof AuthorityUnavailableError) || Date.now() >= deadline) throw err;
      }
      await sleep(500);
    }
  }

  private async _askHostKey(): Promise<string> {
    const res = await this._get('ext/negotiator/identity');
    if (res.status === 401 || res.status === 403) {
      _drop(res);
      throw new CloudCoinError('EAUTH', `negotiator at ${this.base.origin} refused the API key (HTTP ${res.status}): check --api-key`, ExitCode.auth);
    }
    if (res.status === 404) {
      _drop(res);
      throw new CloudCoinError('ENONEGOTIATOR', `the node at ${this.base.origin} runs no Negotiator (no ext/negotiator/identity)`, ExitCode.failure);
    }
    if (res.status !== 200) {
      _drop(res);
      throw new AuthorityUnavailableError(`negotiator answered HTTP ${res.status}`);
    }
    const text = await this._readBounded(res);
    let key: unknown;
    try {
      key = JSON.parse(text)?.key;
    } catch {
      // Not JSON: refused below as an answer without a key.
    }
    if (!isPubkeyHex(key)) throw new CloudCoinError('ENEGOTIATOR', `negotiator at ${this.base.origin} sent no identity key`, ExitCode.failure);
    return key;
  }

  private _get(path: string): Promise<Answer> {
    return this._send(path, 'GET');
  }

  /** A redirect is not followed: its status is an answer like any other that is not 200. */
  private _send(path: string, method: 'GET' | 'POST', body?: string): Promise<Answer> {
    const url = new URL(path, this.base);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<Answer>((resolve, reject) => {
      const req = send(url, {
        method,
        agent: this.agent,
        headers: {
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
          ...(this.authorization ? { authorization: this.authorization } : {}),
        },
        // The whole exchange, the answer's body included, within the time-out.
        signal: AbortSignal.timeout(this.timeoutMs),
      }, (res) => {
        // Errors while the body is read reach its reader; this keeps one after a drop from going unhandled.
        res.on('error', () => {});
        resolve({ status: res.statusCode ?? 0, body: res });
      });
      req.on('error', (err) => reject(new AuthorityUnavailableError(`negotiator at ${this.base.origin} unreachable: ${err.message}`)));
      req.end(body);
    });
  }

  private async _readBounded(res: Answer): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res.body) {
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

function _drop(res: Answer): void {
  res.body.destroy();
}

function _hint(status: number): string {
  return status === 401 ? ' (check --api-key)' : '';
}
