/**
 * Recycled multi-MiB buffers for the hot paths of the file server and the
 * store (sectors served and staged, sectors packed, shards fetched and
 * sealed, files restored). A fresh buffer of that size costs a page fault per
 * 4 KiB to fill, and Buffer memory counts towards V8's next full collection:
 * reusing a few was a large share of a push's or a pull's CPU.
 *
 * A pool keeps at most `keep` free buffers (more given back are left to the
 * garbage collector) and, with a `limit`, has at most that many out at once:
 * take() then answers null, and the caller waits or goes without. A buffer
 * taken and never given back stays counted as out. A pool without a limit
 * also takes back memory it did not make (shards' buffers returning from the
 * sector worker).
 */
export interface BufferPoolOptions {
  /** Makes a buffer of at least `minLength` bytes when no free one fits. */
  make: (minLength: number) => Buffer;
  /** Free buffers kept at most (default: every one given back). */
  keep?: number;
  /** Buffers out at once at most (default: no bound). */
  limit?: number;
}

export class BufferPool {
  private readonly _free: Buffer[] = [];
  private readonly _make: (minLength: number) => Buffer;
  private readonly _keep: number;
  private readonly _limit: number;
  private _out = 0;

  constructor(options: BufferPoolOptions) {
    this._make = options.make;
    this._keep = options.keep ?? Infinity;
    this._limit = options.limit ?? Infinity;
  }

  /**
   * A buffer of at least `minLength` bytes: a free one, or a new one from
   * `make`; null when `limit` buffers are out. Free buffers too short (or
   * empty: moved to a worker thread since) are dropped on the way: a pool's
   * callers ask for one size at a time, so one left from another size would
   * only hold a place.
   */
  take(minLength = 0): Buffer | null {
    if (this._out >= this._limit) return null;
    this._out++;
    for (let b = this._free.pop(); b !== undefined; b = this._free.pop()) {
      if (b.length >= minLength) return b;
    }
    return this._make(minLength);
  }

  /** Gives back a buffer from take(); nothing may read it after. */
  give(buffer: Buffer): void {
    this._out--;
    if (this._free.length < this._keep) this._free.push(buffer);
  }
}
