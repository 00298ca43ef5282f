/**
 * One keep-alive HTTP/1.1 connection that sends GET requests and reads each
 * answer's body straight into the caller's memory, through the socket's
 * `onread` buffer: the kernel copies the bytes to where they are wanted,
 * as large a piece as the socket holds at each read. node:http hands a body
 * over in 64 KiB pieces, each one allocated, parsed, emitted and copied: for
 * the 2 MiB shards a pull fetches, several times the client CPU that reading
 * in place costs (docs/store.md, "Speed and memory").
 *
 * Only answers framed by Content-Length (or bodiless by status) are read
 * here. Anything else, a chunked answer or one read until the server closes,
 * is refused with UnframedAnswerError before any of its body is taken, and
 * the caller asks again through node:http (http-request.ts).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { HttpAnswer } from './http-answer.js';

/** An answer this connection does not read: ask again through node:http. */
export class UnframedAnswerError extends Error {}

export interface GetOptions {
  headers: Record<string, string>;
  timeoutMs: number;
  maxBody: number;
  into?: Buffer;
}

/** Largest status line and headers accepted. */
const _HEAD_MAX = 64 * 1024;
const _TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const _VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const _HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/;
const _STATUS_LINE = /^HTTP\/1\.([01]) ([1-9][0-9]{2})(?: .*)?$/;

interface _Request {
  resolve(answer: HttpAnswer): void;
  reject(err: Error): void;
  timeoutMs: number;
  maxBody: number;
  into?: Buffer;
  /** Bytes of the head buffer filled so far. */
  headLength: number;
  status: number;
  headers: IncomingHttpHeaders;
  /** Set once the head is read. */
  body: Buffer | null;
  length: number;
  got: number;
}

export class GetConnection {
  private readonly _host: string;
  private readonly _socket: Socket;
  private readonly _head = Buffer.allocUnsafe(_HEAD_MAX);
  private _request: _Request | null = null;
  private _closed = false;
  private _keepAlive = true;
  /** Answers read whole on this connection. */
  private _served = 0;
  /** Whether any byte of the current request's answer has come. */
  private _answering = false;

  /** `host` is the Host header's value; `hostname` and `port` are where to connect. */
  constructor(hostname: string, port: number, host: string) {
    this._host = host;
    this._socket = connect({
      host: hostname,
      port,
      noDelay: true,
      onread: { buffer: () => this._nextBuffer(), callback: (n: number) => this._onRead(n) },
    });
    this._socket.on('error', (err) => this._fail(err));
    this._socket.on('close', () => this._fail(new Error('connection closed before the answer was complete')));
    this._socket.on('timeout', () => this._fail(new Error(`no answer within ${this._request?.timeoutMs} ms`)));
  }

  /** Free for another request: open, idle, and the last answer did not ask to close. */
  get reusable(): boolean {
    return !this._closed && this._keepAlive && this._request === null;
  }

  /**
   * Whether a failed request may be sent again on a new connection: this one
   * had served answers before (the server may have closed it as it idled, just
   * as the request went out) and not a byte of the answer came.
   */
  get stale(): boolean {
    return this._served > 0 && !this._answering;
  }

  /** Sends `GET target`; resolves with the whole answer, whatever its status. */
  get(target: string, opts: GetOptions): Promise<HttpAnswer> {
    if (!this.reusable) return Promise.reject(new Error('connection is busy or closed'));
    let head = `GET ${target} HTTP/1.1\r\nhost: ${this._host}\r\n`;
    for (const [name, value] of Object.entries(opts.headers)) {
      if (!_TOKEN.test(name) || !_VALUE.test(value)) return Promise.reject(new TypeError(`invalid header ${JSON.stringify(name)}`));
      head += `${name}: ${value}\r\n`;
    }
    if (!/^\/[\x21-\x7e]*$/.test(target)) return Promise.reject(new TypeError(`invalid request target ${JSON.stringify(target)}`));
    return new Promise((resolve, reject) => {
      this._request = { resolve, reject, timeoutMs: opts.timeoutMs, maxBody: opts.maxBody, into: opts.into, headLength: 0, status: 0, headers: {}, body: null, length: 0, got: 0 };
      this._answering = false;
      this._socket.ref();
      this._socket.setTimeout(opts.timeoutMs);
      this._socket.write(`${head}\r\n`, 'latin1');
    });
  }

  destroy(): void {
    this._fail(new Error('connection closed'));
  }

  /** Where the next read lands: the rest of the body being read, or the head buffer. */
  private _nextBuffer(): Buffer {
    const r = this._request;
    if (r?.body) return r.body.subarray(r.got, r.length);
    return this._head.subarray(r?.headLength ?? 0);
  }

  /** Always true: the socket keeps reading (false would pause it). */
  private _onRead(n: number): boolean {
    const r = this._request;
    if (r === null) {
      // Bytes nobody asked for: the connection is out of step with the server.
      this._fail(new Error('bytes from the server outside an answer'));
    } else if (r.body) {
      this._answering = true;
      r.got += n;
      if (r.got === r.length) this._finish(r);
    } else {
      this._answering = true;
      r.headLength += n;
      try {
        this._readHead(r, n);
      } catch (err) {
        this._fail(err as Error);
      }
    }
    return true;
  }

  /** Parses the head once it is all in; skips interim (1xx) answers. */
  private _readHead(r: _Request, n: number): void {
    const end = this._head.indexOf('\r\n\r\n', Math.max(0, r.headLength - n - 3), 'latin1');
    if (end < 0) {
      if (r.headLength >= _HEAD_MAX) throw new Error(`answer head longer than ${_HEAD_MAX} bytes`);
      return;
    }
    const lines = this._head.toString('latin1', 0, end).split('\r\n');
    const status = _STATUS_LINE.exec(lines[0]);
    if (!status) throw new Error('malformed answer from the server');
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const m = _HEADER_LINE.exec(line);
      if (!m) throw new Error('malformed header in the answer');
      const name = m[1].toLowerCase();
      if (name === 'content-length' && headers[name] !== undefined && headers[name] !== m[2]) throw new Error('conflicting content-length in the answer');
      headers[name] = headers[name] === undefined || name === 'content-length' ? m[2] : `${headers[name]}, ${m[2]}`;
    }
    const code = Number(status[2]);
    const rest = r.headLength - (end + 4);
    if (code < 200) {
      if (code === 101) throw new UnframedAnswerError('switching protocols');
      this._head.copy(this._head, 0, end + 4, r.headLength);
      r.headLength = rest;
      return this._readHead(r, rest);
    }
    const connection = (headers.connection ?? '').toLowerCase();
    this._keepAlive = status[1] === '1' ? !/\bclose\b/.test(connection) : /\bkeep-alive\b/.test(connection);
    let length = 0;
    if (code !== 204 && code !== 304) {
      if (headers['transfer-encoding'] !== undefined || !/^[0-9]{1,15}$/.test(headers['content-length'] ?? '')) throw new UnframedAnswerError('answer not framed by content-length');
      length = Number(headers['content-length']);
    }
    if (length > r.maxBody) throw new Error(`answer longer than ${r.maxBody} bytes`);
    if (rest > length) throw new Error('more bytes than the answer announced');
    r.status = code;
    r.headers = headers;
    r.length = length;
    r.body = r.into && r.into.length >= length ? r.into : Buffer.allocUnsafe(length);
    r.got = this._head.copy(r.body, 0, end + 4, r.headLength);
    if (r.got === length) this._finish(r);
  }

  private _finish(r: _Request): void {
    this._request = null;
    this._served++;
    this._socket.setTimeout(0);
    if (this._keepAlive) this._socket.unref();
    else this._fail(new Error('connection closed'));
    r.resolve({ status: r.status, headers: r.headers, body: r.body!.subarray(0, r.length) });
  }

  private _fail(err: Error): void {
    const r = this._request;
    this._request = null;
    this._closed = true;
    this._socket.destroy();
    r?.reject(err);
  }
}
