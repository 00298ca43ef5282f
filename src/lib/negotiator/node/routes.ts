/**
 * The Negotiator's HTTP API, under /ext/negotiator/ behind the node's API
 * key. Each handler validates its input, calls one NegotiatorService method
 * and answers JSON; errors are `{ error: { code, message } }` with a status.
 * The service throws domain errors (../errors.ts) and STATUS below is the one
 * place their codes become statuses: 400 bad input, 402 insufficient funds,
 * 404 unknown, 409 conflict (state, timing, no peer), 422 not a party of the
 * contract, 423 the node holds no wallet passphrase, 500 the wallet failed.
 * (401 and 403 stay the API key's.) These statuses are what
 * src/lib/negotiator/client.ts turns into the CLI's exit codes.
 *
 * GET /ext/negotiator/contracts/<id> answers the ContractInfo JSON as is:
 * the file server reads it. GET /contracts/<id>/commitment answers the latest
 * commitment revision and the sectors it commits to (`store check`). PUT /contracts/<id>/sectors { ids } is the
 * renter's store telling its daemon which sectors it put on a contract;
 * POST /contracts/<id>/revisions { revision } is the host's file server
 * asking its Negotiator to countersign a commitment revision. POST
 * /fulfilment { automatic } turns the daemon's own fulfilment work off and on.
 */
import { HttpError, isCloudCoinError } from '../../errors.js';
import type { ExtensionContext } from '../../ext/context.js';
import type { HttpMethod, RouteHandler } from '../../ext/types.js';
import { RefuseReason, type RefuseReasonValue } from '../../net/refuse.js';
import type { NegotiatorErrorCode } from '../errors.js';
import type { NegotiatorService } from './service.js';

const STATUS: Record<NegotiatorErrorCode, number> = {
  EUSAGE: 400,
  EFUNDS: 402,
  ENOTFOUND: 404,
  ECONFLICT: 409,
  ENOTPARTY: 422,
  ELOCKED: 423,
  EWALLET: 500,
};

/** `handler` with the service's domain errors answered by their status; any other error stays an internal one. */
function _answering(handler: RouteHandler): RouteHandler {
  return async (req) => {
    try {
      return await handler(req);
    } catch (err) {
      if (!isCloudCoinError(err) || !Object.hasOwn(STATUS, err.code)) throw err;
      throw new HttpError(STATUS[err.code as NegotiatorErrorCode], err.code, err.message, {}, err);
    }
  };
}

function _body(b: unknown): Record<string, any> {
  if (b === undefined || b === null) return {};
  if (typeof b !== 'object' || Array.isArray(b)) throw new HttpError(400, 'EUSAGE', 'the body must be a JSON object');
  return b as Record<string, any>;
}

function _num(v: unknown, what: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new HttpError(400, 'EUSAGE', `${what} must be a number`);
  return n;
}

function _int(v: unknown, what: string, dflt?: number): number {
  if (v === undefined && dflt !== undefined) return dflt;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new HttpError(400, 'EUSAGE', `${what} must be a non-negative integer`);
  return n;
}

export function registerRoutes(ext: ExtensionContext, svc: () => NegotiatorService): void {
  const route = (method: HttpMethod, path: string, handler: RouteHandler) => ext.route(method, path, _answering(handler));
  route('get', '/identity', () => ({ body: { key: Buffer.from(svc().identity.publicKey).toString('hex'), host: svc().getHost() } }));

  route('get', '/offers', async ({ query }) => ({
    body: {
      offers: await svc().listOffers({ maxPrice: _num(query.maxPrice, 'maxPrice'), minReputation: _num(query.minReputation, 'minReputation'), sort: query.sort || undefined }),
    },
  }));

  route('post', '/offers', async ({ body }) => {
    const b = _body(body);
    const h = _body(b.host);
    const host = {
      priceFloor: h.priceFloor === undefined ? undefined : _int(h.priceFloor, 'priceFloor'),
      capacity: h.capacity === undefined ? undefined : _int(h.capacity, 'capacity'),
      maxContracts: h.maxContracts === undefined ? undefined : _int(h.maxContracts, 'maxContracts'),
      maxFee: h.maxFee === undefined ? undefined : _int(h.maxFee, 'maxFee'),
      mode: h.mode,
    };
    if (typeof b.url !== 'string') throw new HttpError(400, 'EUSAGE', 'url must be a string');
    const offer = await svc().createOffer({
      price: _int(b.price, 'price'),
      collateral: _int(b.collateral, 'collateral'),
      minSize: _int(b.minSize, 'minSize'),
      maxSize: _int(b.maxSize, 'maxSize'),
      minDuration: _int(b.minDuration, 'minDuration'),
      maxDuration: _int(b.maxDuration, 'maxDuration'),
      url: b.url,
      validity: _int(b.validity, 'validity', 7 * 24 * 3600),
      host,
    });
    return { status: 201, body: { offer, host: svc().getHost() } };
  });

  route('del', '/offers', async () => ({ body: await svc().withdrawOffer() }));

  route('post', '/negotiate', async ({ body }) => {
    const b = _body(body);
    return {
      body: await svc().negotiate({
        offer: b.offer,
        size: b.size,
        duration: b.duration,
        maxPrice: b.maxPrice === undefined ? undefined : _int(b.maxPrice, 'maxPrice'),
        minCollateral: b.minCollateral === undefined ? undefined : _int(b.minCollateral, 'minCollateral'),
        timeout: b.timeout === undefined ? undefined : _int(b.timeout, 'timeout'),
      }),
    };
  });

  route('get', '/pending', async () => ({ body: { pending: await svc().pending() } }));
  route('post', '/pending/:id/approve', ({ params }) => ({ body: svc().approve(params.id) }));
  route('post', '/pending/:id/refuse', ({ params, body }) => {
    const reason = _body(body).reason;
    const code = reason === undefined ? RefuseReason.other : (RefuseReason as Record<string, number>)[reason];
    if (code === undefined) throw new HttpError(400, 'EUSAGE', `reason must be one of ${Object.keys(RefuseReason).join(', ')}`);
    return { body: svc().refuse(params.id, code as RefuseReasonValue) };
  });

  route('get', '/contracts', async ({ query }) => {
    const role = query.role ?? 'any';
    if (!['renter', 'host', 'any'].includes(role)) throw new HttpError(400, 'EUSAGE', 'role must be renter, host or any');
    return { body: await svc().contracts(role as 'renter' | 'host' | 'any') };
  });
  route('get', '/contracts/:id', async ({ params }) => ({ body: await svc().contract(params.id) }));
  route('post', '/contracts/:id/rate', async ({ params, body }) => {
    const b = _body(body);
    return { status: 201, body: await svc().rate(params.id, b.score, b.comment ?? '') };
  });
  route('post', '/contracts/:id/settle', async ({ params, body }) => {
    const b = _body(body);
    return { body: await svc().settle(params.id, b.fee === undefined ? undefined : _int(b.fee, 'fee')) };
  });

  route('get', '/contracts/:id/commitment', async ({ params }) => ({ body: { commitment: await svc().commitment(params.id) } }));
  route('put', '/contracts/:id/sectors', async ({ params, body }) => ({ body: await svc().setExpectedSectors(params.id, _body(body).ids) }));
  route('post', '/contracts/:id/revisions', async ({ params, body }) => ({ body: await svc().countersign(params.id, _body(body).revision) }));
  route('post', '/fulfilment', async ({ body }) => ({ body: await svc().setAutomatic(_body(body).automatic) }));

  route('get', '/registry', async () => ({ body: await svc().dump() }));
  route('get', '/reputation/:key', async ({ params }) => ({ body: await svc().reputation(params.key) }));
}
