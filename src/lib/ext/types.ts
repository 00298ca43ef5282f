/**
 * The extension interface. An extension is a bcoin plugin, `{ id, init(node) }`:
 * `init` gets the full node and returns an object with optional `open` and
 * `close`, which the node calls as it opens and closes. Through
 * `extensionContext(node, id)` an extension also gets CloudCoin's helpers: its
 * own `cc*` P2P messages, HTTP routes under `/ext/<id>/`, and a LevelDB of its
 * own in the data directory. docs/extensions.md is the guide.
 */
import type { BcoinFullNode, BcoinPeer } from '../chain/bcoin.js';

/** A route handler's way to answer with an HTTP error status: `new HttpError(status, code, message)`. */
export { HttpError } from '../errors.js';

export interface ExtensionInstance {
  open?(): Promise<void>;
  close?(): Promise<void>;
}

export interface Extension {
  id: string;
  init(node: BcoinFullNode): ExtensionInstance;
}

/** Handles one `cc*` message; throwing a MisbehaviorError penalises the sender. */
export type MessageHandler = (peer: BcoinPeer, payload: Buffer) => void | Promise<void>;

export interface MessageOptions {
  /** Largest payload accepted, in bytes; a larger one costs the sender ban score and is dropped. */
  maxSize: number;
}

export interface RouteRequest {
  params: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
  method: string;
  path: string;
}

/** An HTTP answer: status and JSON body. */
export interface RouteResponse {
  status?: number;
  body: unknown;
}

export type RouteHandler = (req: RouteRequest) => RouteResponse | Promise<RouteResponse>;

export type HttpMethod = 'get' | 'post' | 'put' | 'del';

/** A peer broke the protocol: its message is dropped and its ban score grows by `score`. */
export class MisbehaviorError extends Error {
  readonly score: number;

  constructor(reason: string, score: number) {
    super(reason);
    this.name = 'MisbehaviorError';
    if (!Number.isInteger(score) || score < 0 || score > 100) throw new RangeError('score must be an integer from 0 to 100');
    this.score = score;
  }
}
