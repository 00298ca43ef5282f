/**
 * HTTP client of the file server: signs every request with the renter's
 * key, retries with exponential backoff where a retry can help (network
 * errors, 429, 500/502/503/504) and turns every refusal into a typed
 * FileServerError. The store's Backend wraps this class.
 *
 * @example
 *   const c = new FileServerClient({ url, contractId, secretKey });
 *   await c.put(sectorId, bytes);
 *   const back = await c.get(sectorId, { offset: 0, length: 64 });
 */
import { createHash } from 'node:crypto';
import { publicKeyOf } from '../crypto/sig.js';
import { CloudCoinError, ExitCode } from '../errors.js';
import type { HttpAnswer } from './http-answer.js';
import { sendHttp } from './http-request.js';
import { checkId, SEGMENT_SIZE } from './ids.js';
import type { MerkleProof } from '../crypto/merkle.js';
import { EMPTY_SHA256, signRequest, type Operation } from './request-auth.js';
import type { SectorRoot } from './sector-roots.js';
import type { SectorInfo } from './sector-store.js';
import type { ServerStatus } from './status-page.js';

export interface FileServerClientOptions {
  /** The server's base URL, e.g. http://host:port. */
  url: string;
  /** The contract the requests are for (64 hex). */
  contractId: string;
  /** The contract's renter secret key (32 bytes). */
  secretKey: Uint8Array;
  /** Retries after the first attempt (default 3). */
  retries?: number;
  /** First backoff delay; doubled each retry, with jitter (default 200 ms). */
  backoffMs?: number;
  /** Longest backoff delay when the server gave no Retry-After (default 10000 ms): many retries must not mean hours of waiting. */
  maxBackoffMs?: number;
  /** Time-out of one attempt (default 30000 ms). */
  timeoutMs?: number;
}

/** A refusal or failure; `code` is the server's error code, or 'unreachable' / 'bad-answer'. */
export class FileServerError extends CloudCoinError {
  constructor(
    code: string,
    message: string,
    /** HTTP status, or null when no answer came. */
    readonly status: number | null,
    /** The server's Retry-After, capped, when it sent one. */
    readonly retryAfterMs?: number,
  ) {
    super(code, message, status === 401 || status === 403 ? ExitCode.auth : ExitCode.failure);
    this.name = 'FileServerError';
  }
}

export interface ContractListing {
  contractId: string;
  sizeBytes: number;
  usedBytes: number;
  sectors: SectorInfo[];
}

const RETRY_STATUS = new Set([429, 500, 502, 503, 504]);
const MAX_RETRY_AFTER_MS = 10_000;

interface Call {
  method: 'GET' | 'PUT' | 'DELETE' | 'POST';
  path: string;
  operation: Operation;
  sectorId: string | null;
  body?: Uint8Array;
  /** The body's sha256 when the caller has it already. */
  bodySha256?: string;
  /** A GET's Range header: sent and signed. */
  range?: string;
  /** A PROOF's segment index: in the path already, and signed. */
  segment?: number;
  headers?: Record<string, string>;
  /** Memory to read the answer into (see HttpRequestOptions.into). */
  into?: Buffer;
}

function _sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class FileServerClient {
  private readonly base: URL;
  private readonly contractId: string;
  private readonly secretKey: Uint8Array;
  private readonly publicKey: Uint8Array;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly timeoutMs: number;

  constructor(options: FileServerClientOptions) {
    this.base = new URL(options.url);
    // Paths resolve against the base: without the slash, `https://h/cc` would lose its `/cc`.
    if (!this.base.pathname.endsWith('/')) this.base.pathname += '/';
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:') throw new RangeError('url must be http: or https:');
    this.contractId = checkId(options.contractId, 'contractId');
    if (!(options.secretKey instanceof Uint8Array) || options.secretKey.length !== 32) throw new TypeError('secretKey must be a 32-byte Uint8Array');
    this.secretKey = options.secretKey;
    this.publicKey = publicKeyOf(options.secretKey);
    this.retries = options.retries ?? 3;
    this.backoffMs = options.backoffMs ?? 200;
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    if (!Number.isSafeInteger(this.retries) || this.retries < 0) throw new RangeError('retries must be a non-negative integer');
    if (!(this.backoffMs >= 0) || !(this.maxBackoffMs >= 0) || !(this.timeoutMs > 0)) throw new RangeError('backoffMs and maxBackoffMs must be >= 0 and timeoutMs > 0');
  }

  /**
   * Stores a sector; resolves once the server has it durably on disk.
   * `knownSha256`, the hex SHA-256 of `data` when the caller has it, saves
   * hashing the bytes again; the server checks it against what it receives.
   */
  async put(sectorId: string, data: Uint8Array, knownSha256?: string): Promise<{ sectorId: string; size: number; sha256: string; created: boolean }> {
    checkId(sectorId, 'sectorId');
    if (!(data instanceof Uint8Array) || data.length === 0) throw new TypeError('data must be a non-empty Uint8Array');
    if (knownSha256 !== undefined && !/^[0-9a-f]{64}$/.test(knownSha256)) throw new TypeError('knownSha256 must be 64 lowercase hex characters');
    const sha256 = knownSha256 ?? createHash('sha256').update(data).digest('hex');
    const res = await this._call({ method: 'PUT', path: this._sectorPath(sectorId), operation: 'PUT', sectorId, body: data, bodySha256: sha256 });
    const answer = (await this._json(res)) as { size: number; sha256: string };
    if (answer.sha256 !== sha256 || answer.size !== data.length) throw new FileServerError('bad-answer', 'server stored something else than was sent', res.status);
    return { sectorId, size: data.length, sha256, created: res.status === 201 };
  }

  /** A sector, or `length` bytes of it from `offset`; read into `into` (a view of it is returned) when it fits. */
  async get(sectorId: string, range?: { offset: number; length: number }, into?: Buffer): Promise<Uint8Array> {
    checkId(sectorId, 'sectorId');
    let header: string | undefined;
    if (range) {
      if (!Number.isSafeInteger(range.offset) || range.offset < 0) throw new RangeError('range.offset must be a non-negative integer');
      if (!Number.isSafeInteger(range.length) || range.length < 1) throw new RangeError('range.length must be a positive integer');
      header = `bytes=${range.offset}-${range.offset + range.length - 1}`;
    }
    const res = await this._call({ method: 'GET', path: this._sectorPath(sectorId), operation: 'GET', sectorId, range: header, into });
    const bytes = res.body;
    const expected = Number(res.headers['content-length']);
    if (bytes.length !== expected || (range && res.status !== 206)) throw new FileServerError('bad-answer', 'truncated or unranged answer', res.status);
    return bytes;
  }

  /** Deletes a sector; false if the server had none. */
  async delete(sectorId: string): Promise<boolean> {
    checkId(sectorId, 'sectorId');
    try {
      await this._call({ method: 'DELETE', path: this._sectorPath(sectorId), operation: 'DELETE', sectorId });
      return true;
    } catch (err) {
      if (err instanceof FileServerError && err.status === 404) return false;
      throw err;
    }
  }

  /** The contract's sectors and usage as the server counts them. */
  async list(): Promise<ContractListing> {
    const res = await this._call({ method: 'GET', path: `v1/contracts/${this.contractId}/sectors`, operation: 'LIST', sectorId: null });
    return (await this._json(res)) as ContractListing;
  }

  /** The server's answer to a storage challenge; check it with verifyMerkleProof against the root you signed. */
  async proof(sectorId: string, segmentIndex: number): Promise<MerkleProof> {
    checkId(sectorId, 'sectorId');
    if (!Number.isSafeInteger(segmentIndex) || segmentIndex < 0) throw new RangeError('segmentIndex must be a non-negative integer');
    const path = `${this._sectorPath(sectorId)}/proof?segment=${segmentIndex}`;
    const res = await this._call({ method: 'GET', path, operation: 'PROOF', sectorId, segment: segmentIndex });
    const a = (await this._json(res)) as { sectorSize: unknown; segmentIndex: unknown; segment: unknown; proof: unknown };
    const hex = (v: unknown, max: number) => typeof v === 'string' && v.length <= max * 2 && /^([0-9a-f]{2})*$/.test(v);
    if (!hex(a.segment, SEGMENT_SIZE) || !Array.isArray(a.proof) || !a.proof.every((h) => hex(h, 32)) || typeof a.sectorSize !== 'number') {
      throw new FileServerError('bad-answer', 'malformed proof', res.status);
    }
    return {
      segmentIndex,
      sectorSize: a.sectorSize,
      segment: Buffer.from(a.segment as string, 'hex'),
      proof: (a.proof as string[]).map((h) => Buffer.from(h, 'hex')),
    };
  }

  /**
   * The Merkle root of every sector the server holds for the contract, sorted
   * by id: what a commitment revision is signed over. The renter checks them
   * against what it stored; the server computes each once, so a first call on
   * many sectors may be answered 429 part way and go on when asked again.
   */
  async roots(): Promise<SectorRoot[]> {
    const res = await this._call({ method: 'GET', path: `v1/contracts/${this.contractId}/roots`, operation: 'ROOTS', sectorId: null });
    const a = (await this._json(res)) as { sectors?: unknown };
    const ok = (s: any) => typeof s?.id === 'string' && /^[0-9a-f]{64}$/.test(s.id) && Number.isSafeInteger(s.size) && typeof s.root === 'string' && /^[0-9a-f]{64}$/.test(s.root);
    if (!Array.isArray(a.sectors) || !a.sectors.every(ok)) throw new FileServerError('bad-answer', 'malformed sector roots', res.status);
    return (a.sectors as SectorRoot[]).map(({ id, size, root }) => ({ id, size, root }));
  }

  /**
   * Sends a commitment revision the renter signed (hex) for the host to
   * countersign; resolves with the revision carrying both signatures (hex).
   * Refused with 409 root-mismatch when it does not commit to what the server
   * holds, 502 negotiator-refused when the host's Negotiator will not sign it.
   */
  async revise(revisionHex: string): Promise<string> {
    if (typeof revisionHex !== 'string' || !/^([0-9a-f]{2})+$/.test(revisionHex)) throw new TypeError('revisionHex must be lowercase hex');
    const body = Buffer.from(JSON.stringify({ revision: revisionHex }));
    const headers = { 'content-type': 'application/json' };
    const res = await this._call({ method: 'POST', path: `v1/contracts/${this.contractId}/revision`, operation: 'REVISION', sectorId: null, body, headers });
    const a = (await this._json(res)) as { revision?: unknown };
    if (typeof a.revision !== 'string' || !/^([0-9a-f]{2})+$/.test(a.revision)) throw new FileServerError('bad-answer', 'answer carries no revision', res.status);
    return a.revision;
  }

  /**
   * Asks the server to carry every sector of contract `from` (same renter and
   * host, e.g. the one this contract renews) over to this one, without
   * uploading them again; resolves with the sectors and bytes this contract
   * then holds of them.
   */
  async carry(from: string): Promise<{ sectors: number; bytes: number }> {
    const body = Buffer.from(JSON.stringify({ from: checkId(from, 'from') }));
    const res = await this._call({ method: 'POST', path: `v1/contracts/${this.contractId}/carry`, operation: 'CARRY', sectorId: null, body, headers: { 'content-type': 'application/json' } });
    const a = (await this._json(res)) as { sectors?: unknown; bytes?: unknown };
    if (!Number.isSafeInteger(a.sectors) || !Number.isSafeInteger(a.bytes)) throw new FileServerError('bad-answer', 'malformed carry answer', res.status);
    return { sectors: a.sectors as number, bytes: a.bytes as number };
  }

  /** The public status (no signature needed). */
  async status(): Promise<ServerStatus> {
    const res = await this._attempt(new URL('status', this.base), 'GET', { accept: 'application/json' });
    return (await this._json(res)) as ServerStatus;
  }

  private _sectorPath(sectorId: string): string {
    return `v1/contracts/${this.contractId}/sectors/${sectorId}`;
  }

  private async _json(res: HttpAnswer): Promise<unknown> {
    try {
      return JSON.parse(res.body.toString('utf8'));
    } catch {
      throw new FileServerError('bad-answer', 'answer is not JSON', res.status);
    }
  }

  private async _call(call: Call): Promise<HttpAnswer> {
    const url = new URL(call.path, this.base);
    const bodySha256 = call.bodySha256 ?? (call.body ? createHash('sha256').update(call.body).digest('hex') : EMPTY_SHA256);
    for (let attempt = 0; ; attempt++) {
      // Each attempt is signed anew: the server refuses a nonce it has seen.
      const { contractId, secretKey, publicKey } = this;
      const auth = signRequest({ contractId, sectorId: call.sectorId, operation: call.operation, bodySha256, range: call.range, segment: call.segment }, secretKey, publicKey);
      const headers = { ...call.headers, ...(call.range === undefined ? {} : { range: call.range }), ...auth };
      let res: HttpAnswer;
      try {
        res = await this._attempt(url, call.method, headers, call.body, call.into);
      } catch (err) {
        // A Negotiator's refusal comes as a 502 too, but asking again gets the same answer.
        const retryable = err instanceof FileServerError && (err.status === null || RETRY_STATUS.has(err.status)) && err.code !== 'negotiator-refused';
        if (!retryable || attempt >= this.retries) throw err;
        await _sleep(err.retryAfterMs ?? Math.min(this.maxBackoffMs, this.backoffMs * 2 ** attempt) * (0.5 + Math.random()));
        continue;
      }
      return res;
    }
  }

  /** One request; any non-2xx answer becomes a FileServerError. */
  private async _attempt(url: URL, method: string, headers: Record<string, string>, body?: Uint8Array, into?: Buffer): Promise<HttpAnswer> {
    let res: HttpAnswer;
    try {
      res = await sendHttp(url, { method, headers, body, into, timeoutMs: this.timeoutMs });
    } catch (err) {
      throw new FileServerError('unreachable', `file server ${this.base.origin} unreachable: ${(err as Error).message}`, null);
    }
    if (res.status >= 200 && res.status < 300) return res;
    let code = `http-${res.status}`;
    let message = `file server answered HTTP ${res.status}`;
    try {
      const answer = JSON.parse(res.body.toString('utf8')) as { error?: { code?: unknown; message?: unknown } };
      if (typeof answer.error?.code === 'string') code = answer.error.code;
      if (typeof answer.error?.message === 'string') message = `${message}: ${answer.error.message}`;
    } catch {
      // A body that is not our error JSON (a proxy's page, say) leaves the generic message.
    }
    const retryAfter = Number(res.headers['retry-after']);
    throw new FileServerError(code, message, res.status, retryAfter > 0 ? Math.min(retryAfter * 1000, MAX_RETRY_AFTER_MS) : undefined);
  }
}
