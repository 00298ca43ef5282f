/**
 * The Negotiator as a node extension (`{ id, init }`, docs/extensions.md):
 * it registers every cc* command with its maximum size, the HTTP routes of
 * routes.ts, and runs a NegotiatorService over a BcoinNodeAdapter while the
 * node is open. Loaded by
 * default by `node start` (src/lib/node/start.ts, DEFAULT_EXTENSIONS).
 */
import type { BcoinFullNode } from '../../chain/bcoin.js';
import { HttpError } from '../../errors.js';
import { extensionContext } from '../../ext/context.js';
import type { Extension, ExtensionInstance } from '../../ext/types.js';
import { MAX_SIZE } from '../../net/packets.js';
import { loadIdentity } from '../identity.js';
import { BcoinNodeAdapter } from './bcoin-adapter.js';
import { registerRoutes } from './routes.js';
import { NegotiatorService, type NegotiatorServiceOptions } from './service.js';

export const id = 'negotiator';

/** A positive whole number from the daemon's environment, or undefined when it is not set. */
function _envCount(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const text = env[name];
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`${name} must be a positive whole number, got ${JSON.stringify(text)}`);
  return n;
}

/**
 * The service's sizes the daemon's environment may set: CLOUDCOIN_MAX_OFFERS
 * (the offer pool) and CLOUDCOIN_NEGOTIATION_HOLD (seconds an unfunded
 * reservation lasts), so a test can run a small pool or a short hold.
 */
export function serviceSettings(env: NodeJS.ProcessEnv): Pick<NegotiatorServiceOptions, 'maxOffers' | 'holdSeconds'> {
  return { maxOffers: _envCount(env, 'CLOUDCOIN_MAX_OFFERS'), holdSeconds: _envCount(env, 'CLOUDCOIN_NEGOTIATION_HOLD') };
}

export function init(node: BcoinFullNode): ExtensionInstance {
  const ext = extensionContext(node, id);
  let service: NegotiatorService | null = null;
  const svc = (): NegotiatorService => {
    if (!service) throw new HttpError(503, 'ENOTOPEN', 'the negotiator is not open');
    return service;
  };
  for (const [cmd, maxSize] of Object.entries(MAX_SIZE)) {
    ext.onMessage(cmd, { maxSize }, async (peer, payload) => {
      if (service) await service.onMessage(peer, cmd, payload);
    });
  }
  registerRoutes(ext, svc);
  return {
    async open() {
      const s = new NegotiatorService(new BcoinNodeAdapter(node, ext), ext.db(), loadIdentity(ext.datadir), { ...serviceSettings(process.env), datadir: ext.datadir });
      await s.open();
      service = s;
    },
    async close() {
      const s = service;
      service = null;
      await s?.close();
    },
  };
}

export const negotiatorExtension: Extension = { id, init };
export default negotiatorExtension;
