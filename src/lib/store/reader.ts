/**
 * Reading file contents back out of a snapshot: chunk references -> sectors
 * (fetched through ShardIO, decrypted, kept in a small LRU since consecutive
 * files share sectors) -> verified chunk bytes. Fetches are limited as well as
 * the cache: each one holds k shards and the plaintext at once (~8 MiB), and a
 * restore of many big files asks for many sectors at once. Three cached and two
 * fetched kept a 2 GB pull under 220 MiB at the speed of four and three; two
 * cached was a third slower (files being restored side by side share sectors).
 */
import { createHmac } from 'node:crypto';
import { CloudCoinError, ExitCode } from '../errors.js';
import type { StoreKeys } from './keys.js';
import type { ChunkRef } from './manifest.js';
import type { SectorRecord } from './sector.js';
import type { SectorWorker } from './sectorworker.js';
import type { ShardIO } from './shards.js';

export class SnapshotReader {
  private readonly _keys: StoreKeys;
  private readonly _io: ShardIO;
  private readonly _worker: SectorWorker;
  private readonly _sectors: Map<string, SectorRecord>;
  private readonly _cache = new Map<string, Promise<Buffer>>();
  private readonly _capacity: number;
  private readonly _maxFetches: number;
  private readonly _queue: (() => void)[] = [];
  private _fetches = 0;

  /** `capacity` decrypted sectors are kept (each at most 4 MiB); at most `fetches` are fetched at once. */
  constructor(keys: StoreKeys, io: ShardIO, worker: SectorWorker, sectors: Iterable<SectorRecord>, capacity = 3, fetches = 2) {
    this._keys = keys;
    this._io = io;
    this._worker = worker;
    this._sectors = new Map([...sectors].map((s) => [s.id, s]));
    this._capacity = capacity;
    this._maxFetches = fetches;
  }

  private async _fetch(rec: SectorRecord): Promise<Buffer> {
    if (this._fetches >= this._maxFetches) await new Promise<void>((r) => this._queue.push(r));
    this._fetches++;
    try {
      return await this._worker.open(rec.id, rec.k, rec.size, await this._io.getShards(rec));
    } finally {
      this._fetches--;
      this._queue.shift()?.();
    }
  }

  /** The decrypted plaintext of a sector. */
  sector(sid: string): Promise<Buffer> {
    let p = this._cache.get(sid);
    if (p) {
      // Re-insert: Map keeps insertion order, so the first key is the least recently used.
      this._cache.delete(sid);
      this._cache.set(sid, p);
      return p;
    }
    const rec = this._sectors.get(sid);
    if (!rec) return Promise.reject(new CloudCoinError('EMANIFEST', `sector ${sid} is not listed in the snapshot`, ExitCode.failure));
    p = this._fetch(rec);
    p.catch(() => this._cache.delete(sid));
    this._cache.set(sid, p);
    if (this._cache.size > this._capacity) this._cache.delete(this._cache.keys().next().value!);
    return p;
  }

  /** One chunk's bytes out of its sector's plaintext, checked against its id. */
  private _slice(plain: Buffer, ref: ChunkRef): Buffer {
    const [id, , off, len] = ref;
    const bytes = plain.subarray(off, off + len);
    const ok = off + len <= plain.length && createHmac('sha256', this._keys.ids).update(bytes).digest('hex') === id;
    if (!ok) throw new CloudCoinError('ECORRUPT', `chunk ${id.slice(0, 16)} does not match its reference in the manifest`, ExitCode.failure);
    return bytes;
  }

  /**
   * The chunks in order. A run of chunks in one sector is served from the sector
   * this call already holds, not from the shared cache, which other files being
   * restored at the same time may have evicted it from; the next sector is
   * fetched while the current one is consumed.
   */
  async *content(chunks: ChunkRef[]): AsyncGenerator<Buffer> {
    let held: Promise<Buffer> | null = null;
    let heldId = '';
    for (let i = 0; i < chunks.length; i++) {
      const sid = chunks[i][1];
      if (sid !== heldId) {
        held = this.sector(sid);
        heldId = sid;
        for (let j = i + 1; j < chunks.length; j++) {
          if (chunks[j][1] === sid) continue;
          this.sector(chunks[j][1]).catch(() => undefined);
          break;
        }
      }
      yield this._slice(await held!, chunks[i]);
    }
  }
}
