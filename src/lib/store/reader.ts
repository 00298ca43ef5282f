/**
 * Reading file contents back out of a snapshot: chunk references -> sectors
 * (fetched through ShardIO, decrypted, kept in a small cache since files
 * restored side by side share sectors) -> verified chunk bytes. Fetches are
 * limited as well as the cache: each one holds k shards and the plaintext at
 * once (~8 MiB), and a restore of many big files asks for many sectors at once.
 *
 * Every sector should be fetched once. The reads a restore will make are known
 * up front, so a sector leaves the cache as soon as its last one is served,
 * and only a cache over capacity evicts one that is still wanted (the least
 * recently used). Three sectors, evicted by recency alone, fetched every sector
 * of a 250 MB pull twice: two big files and the medium ones around them each
 * keep a sector and the next in use. Twelve fetch each sector once or nearly,
 * and a 2 GB pull stayed at 224 MiB.
 *
 * The chunks to be read are named up front, so each sector's are checked
 * against their ids on the sector worker as it is opened: on the main thread
 * that hashing took a sixth of a pull's time. A chunk read that was not named
 * is checked here.
 *
 * A decrypted sector's memory is used again for a later one once nothing can
 * read it: out of the cache, held by no `content()` call, and every chunk
 * handed out from it given back with `release()` (a consumer that never
 * releases only leaves it to the garbage collector). A fresh 4 MiB buffer
 * per sector was page faults to fill and garbage for major collections.
 */
import { createHmac } from 'node:crypto';
import { BufferPool } from '../buffer-pool.js';
import { CloudCoinError, ExitCode, interruptedError } from '../errors.js';
import type { StoreKeys } from './keys.js';
import type { ChunkRef } from './manifest.js';
import { SECTOR_MAX, SECTOR_PLAIN_MAX, type SectorRecord } from './sector.js';
import { shardSize } from './erasure.js';
import type { SectorWorker } from './sectorworker.js';
import type { ShardIO } from './shards.js';

/** Spare shard buffers kept: k (2 by default) for each of the fetches at once; more would only sit in memory. */
const _SPARE_MAX = 4;

/** Plaintext buffers kept for the next sectors: one for each of the fetches at once; more only raised the peak. */
const _PLAIN_SPARE_MAX = 2;

interface _Opened {
  plain: Buffer;
  /** Ids of the sector's named chunks that did not match (checked on the worker). */
  bad: Set<string>;
}

/** A sector fetched or being fetched, and what still uses its plaintext. */
interface _Entry {
  opened: Promise<_Opened>;
  /** Set once opened. */
  plain: Buffer | null;
  /** content() calls holding it, plus chunks handed out and not released. */
  users: number;
  cached: boolean;
}

export class SnapshotReader {
  private readonly _keys: StoreKeys;
  private readonly _io: ShardIO;
  private readonly _worker: SectorWorker;
  private readonly _sectors: Map<string, SectorRecord>;
  /** The named chunks by sector, one reference per chunk id. */
  private readonly _wanted = new Map<string, Map<string, ChunkRef>>();
  /** Named reads still to come, by sector: a sector none are left for leaves the cache at once. */
  private readonly _reads = new Map<string, number>();
  private readonly _cache = new Map<string, _Entry>();
  private readonly _capacity: number;
  private readonly _maxFetches: number;
  private readonly _signal: AbortSignal | undefined;
  private readonly _queue: (() => void)[] = [];
  private _fetches = 0;
  /** Shard memory back from the worker, for the next fetches. */
  private readonly _spare = new BufferPool({ make: (size) => Buffer.allocUnsafe(size), keep: _SPARE_MAX });
  /** Plaintext memory nothing reads any more, for the next sectors. */
  private readonly _plainSpare = new BufferPool({ make: () => Buffer.allocUnsafe(SECTOR_PLAIN_MAX), keep: _PLAIN_SPARE_MAX });
  /** The sector each chunk handed out was cut from, until it is released. */
  private readonly _handedOut = new WeakMap<Buffer, _Entry>();

  /**
   * `chunks` are the references that will be read, each as often as it will be;
   * at most `capacity` decrypted sectors are kept (each at most 4 MiB); at most
   * `fetches` are fetched at once. Once `signal` is aborted, content() throws
   * interruptedError at its next chunk and no sector is fetched any more.
   */
  constructor(
    keys: StoreKeys,
    io: ShardIO,
    worker: SectorWorker,
    sectors: Iterable<SectorRecord>,
    chunks: Iterable<ChunkRef>,
    { capacity = 12, fetches = 2, signal }: { capacity?: number; fetches?: number; signal?: AbortSignal } = {},
  ) {
    this._keys = keys;
    this._io = io;
    this._worker = worker;
    this._sectors = new Map([...sectors].map((s) => [s.id, s]));
    for (const ref of chunks) {
      let m = this._wanted.get(ref[1]);
      if (!m) this._wanted.set(ref[1], (m = new Map()));
      if (!m.has(ref[0])) m.set(ref[0], ref);
      this._reads.set(ref[1], (this._reads.get(ref[1]) ?? 0) + 1);
    }
    this._capacity = capacity;
    this._maxFetches = fetches;
    this._signal = signal;
  }

  private _halt(): void {
    if (this._signal?.aborted) throw interruptedError(this._signal, 'stopped reading the snapshot');
  }

  /**
   * Fetches and opens a sector. Its shards are not hashed first: the AEAD tag
   * covers the whole sealed sector, bound to its id, so a sector that decrypts
   * was rebuilt from right bytes. Only one that does not decrypt has its shards
   * hashed, on the worker, to name the backend whose bytes were wrong; shards
   * from the others, checked one by one, then replace them.
   */
  private async _fetch(rec: SectorRecord): Promise<_Opened> {
    if (this._fetches >= this._maxFetches) await new Promise<void>((r) => this._queue.push(r));
    this._fetches++;
    try {
      // A sector fetched ahead, whose turn came after the restore stopped.
      this._halt();
      const chunks = [...(this._wanted.get(rec.id)?.values() ?? [])].map((r): [string, number, number] => [r[0], r[2], r[3]]);
      const ids = rec.shards.map((s) => s[0]);
      const into = this._lend(rec);
      const lent = new Set<ArrayBufferLike>(into.map((b) => b.buffer));
      const shards = await this._io.getShards(rec, { verify: false, into });
      this._return(into);
      let opened = await this._worker.open(rec.id, rec.k, rec.size, shards, chunks, ids, { lent, plainInto: this._plainSpare.take()! });
      this._return(opened.spare);
      if ('wrong' in opened) {
        for (const i of opened.wrong) this._io.reportCorrupt(rec, i);
        // Checked one by one as they arrive: a sector they do not decrypt is an error, not a liar to name.
        opened = await this._worker.open(rec.id, rec.k, rec.size, await this._io.getShards(rec, { skip: new Set(opened.wrong) }), chunks);
      }
      return { plain: opened.plain, bad: new Set(opened.bad) };
    } finally {
      this._fetches--;
      this._queue.shift()?.();
    }
  }

  /**
   * k buffers for a sector's shards, from those that came back from the worker
   * or new: large enough for a shard of the largest sector, so any fits. They
   * go back as soon as the shards are in; those then moved to the worker with
   * the shards are empty by the next take, and the pool drops them.
   */
  private _lend(rec: SectorRecord): Buffer[] {
    const size = shardSize(SECTOR_MAX, rec.k);
    const out: Buffer[] = [];
    while (out.length < rec.k) out.push(this._spare.take(size)!);
    return out;
  }

  private _return(buffers: Buffer[]): void {
    for (const b of buffers) this._spare.give(b);
  }

  /** A sector, decrypted, with the chunks checked on opening it; held for the caller until `_unhold`. */
  private _hold(sid: string): _Entry {
    let e = this._cache.get(sid);
    if (e) {
      // Re-insert: Map keeps insertion order, so the first key is the least recently used.
      this._cache.delete(sid);
      this._cache.set(sid, e);
    } else {
      const rec = this._sectors.get(sid);
      const opened = rec ? this._fetch(rec) : Promise.reject(new CloudCoinError('EMANIFEST', `sector ${sid} is not listed in the snapshot`, ExitCode.failure));
      const entry: _Entry = (e = { opened, plain: null, users: 0, cached: rec !== undefined });
      // Also what handles a failed fetch no reader awaits (a sector fetched ahead and never reached).
      opened.then(
        (o) => {
          entry.plain = o.plain;
          this._free(entry);
        },
        () => this._uncache(sid, entry),
      );
      if (rec) this._cache.set(sid, entry);
      if (this._cache.size > this._capacity) {
        const [oldest, evicted] = this._cache.entries().next().value!;
        this._uncache(oldest, evicted);
      }
    }
    e.users++;
    return e;
  }

  private _unhold(e: _Entry): void {
    e.users--;
    this._free(e);
  }

  private _uncache(sid: string, e: _Entry): void {
    if (this._cache.get(sid) === e) this._cache.delete(sid);
    e.cached = false;
    this._free(e);
  }

  /** Keeps a sector's plaintext for the next one once nothing can read it. */
  private _free(e: _Entry): void {
    if (e.users > 0 || e.cached || e.plain === null) return;
    const whole = Buffer.from(e.plain.buffer, 0, e.plain.buffer.byteLength);
    e.plain = null;
    if (whole.length >= SECTOR_PLAIN_MAX) this._plainSpare.give(whole);
  }

  /**
   * Gives back a chunk content() handed out, once its bytes are no longer
   * read: its memory may then hold another sector. Each chunk at most once.
   */
  release(chunk: Buffer): void {
    const e = this._handedOut.get(chunk);
    if (!e) return;
    this._handedOut.delete(chunk);
    this._unhold(e);
  }

  /** One chunk's bytes out of its opened sector, checked against its id. */
  private _slice(entry: _Entry, sector: _Opened, ref: ChunkRef): Buffer {
    const [id, , off, len] = ref;
    const bytes = sector.plain.subarray(off, off + len);
    const named = this._wanted.get(ref[1])?.get(id);
    const ok =
      named !== undefined && named[2] === off && named[3] === len
        ? !sector.bad.has(id)
        : off + len <= sector.plain.length && createHmac('sha256', this._keys.ids).update(bytes).digest('hex') === id;
    if (!ok) throw new CloudCoinError('ECORRUPT', `chunk ${id.slice(0, 16)} does not match its reference in the manifest`, ExitCode.failure);
    const left = this._reads.get(ref[1]);
    entry.users++;
    this._handedOut.set(bytes, entry);
    if (named !== undefined && left !== undefined) {
      if (left > 1) this._reads.set(ref[1], left - 1);
      else {
        this._reads.delete(ref[1]);
        const cached = this._cache.get(ref[1]);
        if (cached) this._uncache(ref[1], cached);
      }
    }
    return bytes;
  }

  /**
   * The chunks in order. A run of chunks in one sector is served from the sector
   * this call already holds, not from the shared cache, which other files being
   * restored at the same time may have evicted it from; the next sector is
   * fetched while the current one is consumed, and held here too: left to the
   * cache, two big files restored side by side evicted each other's next
   * sector before they got to it, and every sector was fetched twice.
   */
  async *content(chunks: ChunkRef[]): AsyncGenerator<Buffer> {
    let held: _Entry | null = null;
    let heldId = '';
    let next: _Entry | null = null;
    let nextId = '';
    try {
      for (let i = 0; i < chunks.length; i++) {
        const sid = chunks[i][1];
        if (sid !== heldId) {
          if (held) this._unhold(held);
          held = sid === nextId ? next : this._hold(sid);
          heldId = sid;
          next = null;
          nextId = '';
          for (let j = i + 1; j < chunks.length; j++) {
            if (chunks[j][1] === sid) continue;
            nextId = chunks[j][1];
            next = this._hold(nextId);
            break;
          }
        }
        const opened = await held!.opened;
        this._halt();
        yield this._slice(held!, opened, chunks[i]);
      }
    } finally {
      if (held) this._unhold(held);
      if (next) this._unhold(next);
    }
  }
}
