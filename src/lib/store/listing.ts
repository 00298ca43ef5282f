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
import type { LocalIndex } from './localindex.js';
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

/** A snapshot this machine has seen (pushed, or listed before) that no backend that answered lists now. */
export interface HiddenSnapshot {
  id: string;
  time: string;
}

/** Oldest first. */
export function byTime(a: { id: string; time: string }, b: { id: string; time: string }): number {
  return a.time.localeCompare(b.time) || a.id.localeCompare(b.id);
}

/**
 * Remembers the readable snapshots `listed` and returns those remembered that
 * no backend lists (`holders`), oldest first: a host hiding a manifest, every
 * host holding it down, or a forget run on another machine, which look alike
 * from here (docs/store.md, "Snapshots no host lists").
 */
export async function hiddenSnapshots(index: LocalIndex, holders: Map<string, string[]>, listed: { id: string; time: string }[]): Promise<HiddenSnapshot[]> {
  await index.rememberSnapshots(listed);
  return (await index.rememberedSnapshots()).filter((s) => !holders.has(s.id)).sort(byTime);
}

/**
 * The full id for 'latest' or a unique id prefix (at least 4 hex characters)
 * among the snapshots `list` gives (oldest first). 'latest' is refused (exit 6) while a snapshot
 * newer than every listed one is hidden: an older one must not pass for it.
 */
export async function resolveSnapshot(ref: string, list: () => Promise<{ snaps: { id: string; time: string }[]; hidden: HiddenSnapshot[] }>): Promise<string> {
  if (typeof ref !== 'string' || !(ref === 'latest' || /^[0-9a-f]{4,64}$/.test(ref))) {
    throw new CloudCoinError('ENOSNAPSHOT', `${JSON.stringify(ref)} is not a snapshot id, prefix or "latest"`, ExitCode.usage);
  }
  const { snaps, hidden } = await list();
  const hits = ref === 'latest' ? snaps.slice(-1) : snaps.filter((s) => s.id.startsWith(ref));
  const newer = ref === 'latest' ? hidden.filter((h) => hits.length === 0 || byTime(h, hits[0]) > 0) : [];
  if (newer.length > 0) {
    const h = newer[newer.length - 1];
    const instead = hits.length > 0 ? ` "latest" would be the older ${hits[0].id.slice(0, 16)} of ${hits[0].time}: name it to take it anyway, or` : '';
    throw new CloudCoinError('EHIDDEN', `the newest snapshot seen, ${h.id.slice(0, 16)} of ${h.time}, is listed by no host (hidden, or its hosts are down);${instead} run store forget ${h.id.slice(0, 16)} if it was forgotten elsewhere`, ExitCode.partial);
  }
  if (hits.length === 0) throw new CloudCoinError('ENOSNAPSHOT', `no snapshot ${ref}`, ExitCode.usage);
  if (hits.length > 1) throw new CloudCoinError('ENOSNAPSHOT', `snapshot prefix ${ref} is ambiguous`, ExitCode.usage);
  return hits[0].id;
}
