/**
 * The CPU-heavy sector work on a worker thread, so that the main thread keeps
 * reading, chunking, hashing and doing I/O meanwhile: on two cores this is most
 * of the difference between one busy core and two. Push seals and
 * erasure-codes there; pull rebuilds, decrypts and checks chunks there. One
 * worker, FIFO, so results come in the order asked.
 */
import { CloudCoinError, type ExitCodeValue } from '../errors.js';
import { Worker } from 'node:worker_threads';
import type { StoreKeys } from './keys.js';

export interface SealedSector {
  id: string;
  /** Sealed length. */
  size: number;
  /** Shard ids, in shard order. */
  ids: string[];
  shards: Buffer[];
  /** The plaintext buffer handed in, returned for reuse. */
  plain: Buffer;
}

/** A sector SectorWorker.open decrypted, and the shards' memory, for the next fetches. */
export interface OpenedSector {
  plain: Buffer;
  /** Ids of the named chunks that do not match the plaintext. */
  bad: string[];
  spare: Buffer[];
}

/** The answer of SectorWorker.open when a sector given with its shard ids does not decrypt. */
export interface WrongShards {
  /** Indexes of the shards whose hash is not their id. */
  wrong: number[];
  spare: Buffer[];
}

/** Memory SectorWorker.open may fill: it is moved to the worker, and unusable after. */
export interface OpenMemory {
  /** ArrayBuffers of shards lent to a fetch, moved even when the shards are views of them. */
  lent?: ReadonlySet<ArrayBufferLike>;
  /**
   * A buffer owning its ArrayBuffer, at least as long as the plaintext, to
   * decrypt into: `plain` is then a view of it from its start.
   */
  plainInto?: Buffer;
}

interface _Waiter {
  resolve(reply: any): void;
  reject(err: Error): void;
}

/** Moves a buffer to the worker if it owns its ArrayBuffer; otherwise it is copied. */
function _transferable(b: Uint8Array | null): ArrayBuffer[] {
  return b && b.byteOffset === 0 && b.buffer.byteLength === b.length ? [b.buffer as ArrayBuffer] : [];
}

/**
 * The worker: compiled, sectorthread.js next to this file. Run from source (tsx:
 * the tests, the bench) a worker thread does not inherit tsx's loader, so it
 * registers tsx first and then imports sectorthread.ts.
 */
function _spawn(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./sectorthread.js', import.meta.url));
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./sectorthread.ts', import.meta.url).href;
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(code, { eval: true });
}

export class SectorWorker {
  private readonly _keys: Promise<StoreKeys>;
  private readonly _waiting = new Map<number, _Waiter>();
  private _worker: Worker | null = null;
  /** The thread that has been sent the keys. */
  private _keyed: Worker | null = null;
  private _seq = 0;
  private _closed = false;

  /**
   * `keys` may still be being derived: the thread can start meanwhile, and
   * gets them as its first message (an operation asked before waits for them).
   */
  constructor(keys: StoreKeys | Promise<StoreKeys>) {
    this._keys = Promise.resolve(keys);
    // Awaited by every operation; an unused worker must not turn a wrong passphrase into an unhandled rejection.
    this._keys.catch(() => undefined);
  }

  /**
   * Starts the thread now rather than at the first sector: its start-up
   * (~0.1 s here: the thread, its modules, the erasure code's WebAssembly)
   * then overlaps the probe, the catalog and the walk instead of holding up
   * the first sector while the main thread waits. Idempotent; an idle
   * worker does not keep the process alive.
   */
  start(): void {
    if (!this._closed) this._worker ??= this._start();
  }

  private _start(): Worker {
    const w = _spawn();
    w.unref();
    this._keys.then((k) => this._sendKeys(w, k), () => undefined);
    w.on('message', (m: any) => {
      const waiter = this._waiting.get(m.seq);
      this._waiting.delete(m.seq);
      // Not once closing: terminate() settles on the exit event, which an unreferenced worker does not wait for.
      if (this._waiting.size === 0 && this._worker === w) w.unref();
      if (!waiter) return;
      if (m.error === undefined) return waiter.resolve(m);
      waiter.reject(m.code ? new CloudCoinError(m.code, m.error, m.exitCode as ExitCodeValue) : new Error(`sector worker: ${m.error}`));
    });
    const fail = (err: Error) => {
      for (const w of this._waiting.values()) w.reject(err);
      this._waiting.clear();
      this._worker = null;
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`sector worker exited with code ${code}`)));
    return w;
  }

  /**
   * Seals `plain[0..length]` (chunks `chunkIds`, see sealSector) and codes it into
   * n shards. `plain` must own its whole ArrayBuffer (Buffer.allocUnsafe of a large
   * size does): it is moved to the worker and comes back in the result.
   */
  async seal(plain: Buffer, length: number, chunkIds: string[], k: number, n: number): Promise<SealedSector> {
    if (_transferable(plain).length === 0) throw new RangeError('plain must own its whole ArrayBuffer');
    const m = await this._call({ op: 'seal', plain: plain.buffer, length, chunkIds, k, n }, [plain.buffer as ArrayBuffer]);
    const all = Buffer.from(m.all);
    const shards = m.offsets.map((o: number) => all.subarray(o, o + m.shardLength));
    return { id: m.id, size: m.size, ids: m.ids, shards, plain: Buffer.from(m.plain) };
  }

  /**
   * Rebuilds a sealed sector of `size` bytes from its shards (null where missing,
   * at least k present) and decrypts it, then checks `chunks` ([chunk id, offset,
   * length]) against the plaintext: `bad` lists the ids of those that do not
   * match. Shards not yet checked against their ids come with `shardIds`: if
   * the sector does not decrypt, the answer is then `wrong`, the indexes of the
   * shards whose hash is not their id (an error if there are none). Shard
   * buffers that own their memory, and those whose memory is in
   * `memory.lent`, are moved to the worker and unusable after; their memory
   * comes back as `spare`, for the next fetches. The plaintext is decrypted
   * into `memory.plainInto` when one is given; if the sector does not open,
   * that buffer is not given back.
   */
  open(id: string, k: number, size: number, shards: (Uint8Array | null)[], chunks?: [string, number, number][]): Promise<OpenedSector>;
  open(
    id: string,
    k: number,
    size: number,
    shards: (Uint8Array | null)[],
    chunks: [string, number, number][],
    shardIds: string[],
    memory?: OpenMemory,
  ): Promise<OpenedSector | WrongShards>;
  async open(
    id: string,
    k: number,
    size: number,
    shards: (Uint8Array | null)[],
    chunks: [string, number, number][] = [],
    shardIds: string[] | null = null,
    memory: OpenMemory = {},
  ): Promise<OpenedSector | WrongShards> {
    const lent = memory.lent ?? new Set();
    const moved = new Set(shards.flatMap((s) => (s && lent.has(s.buffer) ? [s.buffer as ArrayBuffer] : _transferable(s))));
    const into = memory.plainInto;
    if (into && _transferable(into).length === 0) throw new RangeError('plainInto must own its whole ArrayBuffer');
    if (into) moved.add(into.buffer as ArrayBuffer);
    const m = await this._call({ op: 'open', id, k, size, shards, shardIds, chunks, plainInto: into?.buffer ?? null }, [...moved]);
    const spare = (m.spare as ArrayBuffer[]).map((b) => Buffer.from(b));
    return m.wrong ? { wrong: m.wrong, spare } : { plain: Buffer.from(m.plain, 0, m.plainLength), bad: m.bad, spare };
  }

  /**
   * The hex SHA-256 of `data` (a shard id, see shardId) and the same bytes: a
   * buffer that owns its memory is moved to the worker and back, so use the
   * returned one.
   */
  async sha256(data: Uint8Array): Promise<{ hex: string; data: Uint8Array }> {
    const m = await this._call({ op: 'hash', data }, _transferable(data));
    return { hex: m.hex, data: m.data };
  }

  /**
   * Hands the shards of a sealed sector back for reuse once they are uploaded;
   * they must not be touched after.
   */
  recycle(sealed: SealedSector): void {
    const buffer = sealed.shards[0]?.buffer;
    if (!this._worker || !buffer || buffer.byteLength === 0) return;
    this._worker.postMessage({ op: 'recycle', buffer }, [buffer as ArrayBuffer]);
  }

  /** Sends a thread the keys: once, before any operation. */
  private _sendKeys(w: Worker, k: StoreKeys): void {
    if (this._keyed === w || this._worker !== w) return;
    w.postMessage({ op: 'keys', data: k.data, ids: k.ids });
    this._keyed = w;
  }

  private async _call(msg: object, transfer: ArrayBuffer[]): Promise<any> {
    const keys = await this._keys;
    // A sector fetched ahead whose shards came after the store closed (an interrupted pull) must not start another thread.
    if (this._closed) throw new Error('sector worker: closed');
    const worker = (this._worker ??= this._start());
    this._sendKeys(worker, keys);
    const seq = this._seq++;
    // Referenced while a reply is due: an idle worker must not keep the process
    // alive, but a busy one must, or a script awaiting only a seal could exit.
    worker.ref();
    return new Promise((resolve, reject) => {
      this._waiting.set(seq, { resolve, reject });
      worker.postMessage({ seq, ...msg }, transfer);
    });
  }

  async close(): Promise<void> {
    this._closed = true;
    const w = this._worker;
    this._worker = null;
    if (!w) return;
    // An idle worker is unreferenced, and terminate() settles on its exit event: unreferenced,
    // nothing else may keep the loop alive until then, and the process would end with the
    // close still awaited (exit 13, no error said: an interrupted pull did).
    w.ref();
    await w.terminate();
  }
}
