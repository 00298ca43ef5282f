/**
 * Who may use the node's HTTP API. bcoin checks one key for every route; the
 * daemon replaces that check with one that knows two keys (HTTP basic
 * authentication, any user name, the key as password):
 *
 * - the API key (api.key) opens every route, as bcoin's did;
 * - the serve key (serve.key) opens only what a file server asks of its
 *   Negotiator (authority-http.ts): the chain height, the node's identity, one
 *   contract by id, and the countersigning of a renter-signed revision. A file
 *   server, often on another machine, then holds a key that cannot negotiate,
 *   rate, settle, approve, move offers or call the RPC.
 *
 * A request without either key gets 401; the serve key on any other route
 * gets 403 with a message that says which key the route needs. WebSocket
 * clients still authenticate with the API key alone (bcoin's own check).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export interface ApiKeys {
  /** Every route. */
  full: string;
  /** The routes of SERVE_KEY_ROUTES only. */
  serve: string;
}

/** The requests the serve key may make: a method and a whole path (bweb's normalised pathname). */
export const SERVE_KEY_ROUTES: ReadonlyArray<{ method: string; path: RegExp }> = [
  { method: 'GET', path: /^\/$/ },
  { method: 'GET', path: /^\/ext\/negotiator\/identity$/ },
  { method: 'GET', path: /^\/ext\/negotiator\/contracts\/[0-9a-f]{64}$/ },
  { method: 'POST', path: /^\/ext\/negotiator\/contracts\/[0-9a-f]{64}\/revisions$/ },
];

/** The parts of bweb's request and response the check uses. */
interface ApiRequest {
  method: string;
  pathname: string;
  headers: Record<string, string | string[] | undefined>;
  username?: string;
}

interface ApiResponse {
  setStatus(code: number): void;
  setHeader(name: string, value: string): void;
  end(): void;
  json(code: number, body: unknown): void;
}

interface BwebHook {
  handler: (req: ApiRequest, res: ApiResponse) => unknown;
  arity: number;
}

interface BwebServer {
  stack: BwebHook[];
  options: { noAuth: boolean; cors: boolean };
}

/**
 * Puts the two-key check where bcoin's node HTTP server has its own: the first
 * hook of its middleware stack (bcoin's initRouter adds it first when CORS is
 * off). Throws, and so stops the daemon from starting, when bcoin's server is
 * not laid out that way, rather than leave a route unguarded.
 */
export function installApiAuth(http: unknown, keys: ApiKeys): void {
  if (!keys.full || !keys.serve) throw new Error('the node needs a non-empty API key and serve key');
  if (keys.full === keys.serve) throw new Error('the serve key must differ from the API key');
  const server = http as BwebServer;
  const first = server.stack?.[0];
  if (server.options?.noAuth !== false || server.options.cors !== false || !first || first.arity !== 2) {
    throw new Error("bcoin's HTTP server does not start with its basic-auth hook; the API key check cannot be installed");
  }
  first.handler = apiAuth(keys);
}

/** The middleware: passes a request on by returning, answers it to stop it. */
function apiAuth(keys: ApiKeys): (req: ApiRequest, res: ApiResponse) => void {
  const full = _digest(keys.full);
  const serve = _digest(keys.serve);
  return (req, res) => {
    const password = _basicPassword(req.headers.authorization);
    const given = password === null ? null : _digest(password);
    if (given && timingSafeEqual(given, full)) {
      req.username = 'api';
      return;
    }
    if (given && timingSafeEqual(given, serve)) {
      if (SERVE_KEY_ROUTES.some((r) => r.method === req.method && r.path.test(req.pathname))) {
        req.username = 'serve';
        return;
      }
      res.json(403, { error: { code: 'ESCOPE', message: `the serve key may not ${req.method} ${req.pathname}: it reads contracts and countersigns revisions; this route needs the node's API key (api.key)` } });
      return;
    }
    res.setStatus(401);
    res.setHeader('WWW-Authenticate', 'Basic realm="node"');
    res.end();
  };
}

/** Comparing digests keeps the comparison constant-time whatever the lengths. */
function _digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

function _basicPassword(header: string | string[] | undefined): string | null {
  if (typeof header !== 'string' || header.length > 690) return null;
  const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header);
  if (!match) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : decoded.slice(colon + 1);
}
