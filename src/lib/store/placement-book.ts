/**
 * The store's view of where repairs put sectors: placements read from the
 * hosts once, kept in the local index, merged into one record a sector
 * (placement.ts). Every reader of snapshots goes through it, so a second
 * machine with only the key reads relocated shards from their new hosts.
 */
import { CloudCoinError } from '../errors.js';
import { BackendError } from './backend.js';
import type { StoreKeys } from './keys.js';
import type { Listing } from './listing.js';
import type { LocalIndex } from './localindex.js';
import type { Snapshot } from './manifest.js';
import { type Placement, type Relocations, decodePlacement, isPlacementId, relocateSnapshot, relocations } from './placement.js';
import type { ShardIO } from './shards.js';

export class PlacementBook {
  private readonly _io: ShardIO;
  private readonly _ready: Promise<{ keys: StoreKeys; index: LocalIndex }>;
  /** As of the last listing, or of the index; null until asked, and after a change. */
  private _moved: Relocations | null = null;

  constructor(io: ShardIO, ready: Promise<{ keys: StoreKeys; index: LocalIndex }>) {
    this._io = io;
    this._ready = ready;
  }

  /**
   * Every sector's record after the repairs the listing shows: placements new
   * to the local index are read from a host that lists them and recorded
   * there, with the sector records they change. `unreadable`: placements no
   * host returned intact.
   */
  async read(listing: Promise<Listing>): Promise<{ moved: Relocations; unreadable: string[] }> {
    const { keys, index } = await this._ready;
    const known = await index.placements();
    const holders = new Map<string, string[]>();
    for (const [name, ids] of await listing) {
      for (const id of ids ?? []) if (!known.has(id) && isPlacementId(keys, id)) holders.set(id, [...(holders.get(id) ?? []), name]);
    }
    const fresh = new Map<string, Placement>();
    const unreadable: string[] = [];
    for (const [id, names] of holders) {
      const p = await this._fetch(keys, id, names);
      if (p) fresh.set(id, p);
      else unreadable.push(id);
    }
    const moved = relocations(new Map([...known, ...fresh]));
    if (fresh.size > 0) await index.putPlacements(fresh, _winners(fresh, moved));
    this._moved = moved;
    return { moved, unreadable };
  }

  /** Records placements this store wrote (repair), once the hosts hold them. */
  async add(placements: Map<string, Placement>): Promise<void> {
    const { index } = await this._ready;
    const moved = relocations(new Map([...(await index.placements()), ...placements]));
    await index.putPlacements(placements, _winners(placements, moved));
    this._moved = moved;
  }

  /** Forgets placements prune deleted. */
  async drop(ids: string[]): Promise<void> {
    await (await this._ready).index.dropPlacements(ids);
    this._moved = null;
  }

  /** What repairs moved, as of the last listing, or as the local index knows without one. */
  async known(): Promise<Relocations> {
    return (this._moved ??= relocations(await (await this._ready).index.placements()));
  }

  /** A snapshot the local index holds, its sectors where repairs put them. */
  async indexed(id: string): Promise<Snapshot | undefined> {
    const snap = await (await this._ready).index.snapshot(id);
    return snap && relocateSnapshot(snap, await this.known());
  }

  private async _fetch(keys: StoreKeys, id: string, names: string[]): Promise<Placement | undefined> {
    for (const name of names) {
      try {
        return decodePlacement(keys, id, await this._io.backend(name)!.get(id));
      } catch (err) {
        if (err instanceof BackendError) continue;
        if (!(err instanceof CloudCoinError)) throw err;
        this._io.corrupt.push({ backend: name, shard: id });
      }
    }
    return undefined;
  }
}

/** The current record of every sector `placements` name (a newer placement may have moved it again). */
function _winners(placements: Map<string, Placement>, moved: Relocations) {
  return [...placements.values()].flatMap((p) => p.sectors.map((r) => moved.get(r.id)!.rec));
}
