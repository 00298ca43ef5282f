/**
 * How commands reach a running node: its node.json gives the ports, its
 * api.key the credentials. bcoin's HTTP API takes the key as the password of
 * HTTP basic authentication.
 */
import { CloudCoinError, ExitCode } from '../errors.js';
import { liveRuntime, readApiKey, type RuntimeInfo } from './datafiles.js';

export class NodeClient {
  readonly runtime: RuntimeInfo;
  private readonly auth: string;

  constructor(runtime: RuntimeInfo, apiKey: string, private readonly baseHost = '127.0.0.1') {
    this.runtime = runtime;
    this.auth = 'Basic ' + Buffer.from(`x:${apiKey}`).toString('base64');
  }

  static connect(datadir: string): NodeClient {
    const runtime = liveRuntime(datadir);
    if (!runtime) throw new CloudCoinError('ENOTRUNNING', `the node is not running on ${datadir}; start it with: cloudcoin node start --datadir ${datadir}`, ExitCode.nodeNotRunning);
    const key = readApiKey(datadir);
    if (!key) throw new CloudCoinError('ENOAPIKEY', `no API key in ${datadir}`, ExitCode.auth);
    return new NodeClient(runtime, key);
  }

  /** A request to the node's HTTP API. */
  node<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    return this.request<T>(this.runtime.httpPort, method, path, body);
  }

  /** A request to the wallet's HTTP API. */
  wallet<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    return this.request<T>(this.runtime.walletPort, method, path, body);
  }

  async rpc<T = any>(method: string, params: unknown[] = []): Promise<T> {
    const answer = await this.node<{ result: T; error: { message: string } | null }>('POST', '/', { method, params });
    if (answer.error) throw new CloudCoinError('ERPC', answer.error.message);
    return answer.result;
  }

  private async request<T>(port: number, method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`http://${this.baseHost}:${port}${path}`, {
        method,
        headers: { authorization: this.auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(120_000),
      });
    } catch (err) {
      throw new CloudCoinError('ENOTRUNNING', `the node does not answer on port ${port}: ${(err as Error).cause ?? (err as Error).message}`, ExitCode.nodeNotRunning);
    }
    const text = await res.text();
    let json: any = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    if (res.status === 401 || res.status === 403) throw new CloudCoinError('EAUTH', 'the node refused the API key', ExitCode.auth);
    if (!res.ok) {
      const message = json?.error?.message ?? `HTTP ${res.status}`;
      throw new NodeApiError(res.status, message);
    }
    return json as T;
  }
}

/** The node answered with an error status; the wallet layer turns the known ones into user errors. */
export class NodeApiError extends CloudCoinError {
  readonly status: number;

  constructor(status: number, message: string) {
    super('ENODEAPI', message, ExitCode.failure);
    this.status = status;
  }
}
