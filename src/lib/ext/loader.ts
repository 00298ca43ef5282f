/**
 * Finds extension modules by name. A built-in extension is named by its id;
 * any other is a path to an ES module whose default export, or whose module
 * namespace itself, is `{ id, init }`.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CloudCoinError, ExitCode } from '../errors.js';
import type { Extension } from './types.js';

/** Built-in extensions, loaded on demand so a node without them never imports their code. */
const BUILTIN: Record<string, () => Promise<Extension>> = {};

/** The Negotiator (issue 3): offers, negotiation, contract registry, ratings. */
BUILTIN.negotiator = async () => (await import('../negotiator/node/extension.js')).negotiatorExtension;

export function registerBuiltin(id: string, load: () => Promise<Extension>): void {
  BUILTIN[id] = load;
}

export async function loadExtension(spec: string): Promise<Extension> {
  const builtin = BUILTIN[spec];
  if (builtin) return builtin();
  let mod: any;
  try {
    mod = await import(pathToFileURL(resolve(spec)).href);
  } catch (err) {
    throw new CloudCoinError('EEXTENSION', `cannot load extension ${spec}: ${(err as Error).message}`, ExitCode.usage);
  }
  const ext = mod.default && typeof mod.default.init === 'function' ? mod.default : mod;
  if (typeof ext.id !== 'string' || typeof ext.init !== 'function') {
    throw new CloudCoinError('EEXTENSION', `extension ${spec} does not export { id, init }`, ExitCode.usage);
  }
  return ext as Extension;
}
