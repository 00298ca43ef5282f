/**
 * What the backends list, and which of those ids are snapshot manifests.
 * Listing needs no key, telling manifests apart does: the store starts the
 * first while the KDF still derives the key, so the hosts' answers (a round
 * trip each, more over a wide-area link) are in by the time it is known.
 * Every id is held until then, a fraction of a second: a host's listing
 * arrives as one JSON document in memory anyway.
 */
import { CloudCoinError, ExitCode } from '../errors.js';
import { type Backend, BackendError } from './backend.js';
import type { StoreKeys } from './keys.js';
import { isManifestId } from './manifest.js';

/** Each backend's name and the ids it listed, or null where it could not list. */
export type Listing = [name: string, ids: string[] | null][];

/**
 * Lists every backend at once. A backend that fails with a BackendError is
 * null in the listing; any other error rejects. The promise is already
 * handled: it may be awaited only after the keys, which can fail first.
 */
export function listBackends(backends: Backend[]): Promise<Listing> {
  const listing = Promise.all(
    backends.map(async (b): Promise<[string, string[] | null]> => {
      const ids: string[] = [];
      try {
        for await (const id of b.list()) ids.push(id);
        return [b.name, ids];
      } catch (err) {
        if (!(err instanceof BackendError)) throw err;
        return [b.name, null];
      }
    }),
  );
  listing.catch(() => undefined);
  return listing;
}

/**
 * The manifest ids listed, with the backends holding each, and the backends
 * that could not list; CloudCoinError EUNAVAILABLE when none could.
 */
export async function manifestHolders(keys: StoreKeys, listing: Promise<Listing>): Promise<{ holders: Map<string, string[]>; unavailable: string[] }> {
  const listed = await listing;
  const holders = new Map<string, string[]>();
  const unavailable: string[] = [];
  for (const [name, ids] of listed) {
    if (ids === null) {
      unavailable.push(name);
      continue;
    }
    // A listing holds every shard id: manifests are told apart with the keys.
    for (const id of ids) if (isManifestId(keys, id)) holders.set(id, [...(holders.get(id) ?? []), name]);
  }
  if (unavailable.length === listed.length) {
    throw new CloudCoinError('EUNAVAILABLE', `no backend answered (${unavailable.join(', ')})`, ExitCode.failure);
  }
  return { holders, unavailable };
}
