/**
 * Sealing and erasure-coding sectors on a worker thread, so that the main
 * thread keeps reading, chunking and uploading meanwhile: on two cores this is
 * most of the difference between one busy core and two. Sectors are sealed in
 * the order given (one worker, FIFO), so results are deterministic.
 */
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

interface _Waiter {
  resolve(s: SealedSector): void;
  reject(err: Error): void;
}

/**
 * The worker: compiled, sealworker.js next to this file. Run from source (tsx:
 * the tests, the bench) a worker thread does not inherit tsx's loader, so it
 * registers tsx first and then imports sealworker.ts.
 */
function _spawn(workerData: object): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./sealworker.js', import.meta.url), { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./sealworker.ts', import.meta.url).href;
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(code, { eval: true, workerData });
}

export class SectorSealer {
  private readonly _keys: StoreKeys;
  private readonly _waiting = new Map<number, _Waiter>();
  private _worker: Worker | null = null;
  private _seq = 0;

  constructor(keys: StoreKeys) {
    this._keys = keys;
  }

  private _start(): Worker {
    const w = _spawn({ data: this._keys.data, ids: this._keys.ids });
    w.unref();
    w.on('message', (m: any) => {
      const waiter = this._waiting.get(m.seq);
      this._waiting.delete(m.seq);
      if (!waiter) return;
      if (m.error) return waiter.reject(new Error(`sealing failed: ${m.error}`));
      const all = Buffer.from(m.all);
      const shards = m.offsets.map((o: number) => all.subarray(o, o + m.shardLength));
      waiter.resolve({ id: m.id, size: m.size, ids: m.ids, shards, plain: Buffer.from(m.plain) });
    });
    const fail = (err: Error) => {
      for (const w of this._waiting.values()) w.reject(err);
      this._waiting.clear();
      this._worker = null;
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`sealing worker exited with code ${code}`)));
    return w;
  }

  /**
   * Seals `plain[0..length]` (chunks `chunkIds`, see sealSector) and codes it into
   * n shards. `plain` must own its whole ArrayBuffer (Buffer.allocUnsafe of a large
   * size does): it is moved to the worker and comes back in the result.
   */
  seal(plain: Buffer, length: number, chunkIds: string[], k: number, n: number): Promise<SealedSector> {
    if (plain.byteOffset !== 0 || plain.buffer.byteLength !== plain.length) throw new RangeError('plain must own its whole ArrayBuffer');
    const worker = (this._worker ??= this._start());
    const seq = this._seq++;
    return new Promise((resolve, reject) => {
      this._waiting.set(seq, { resolve, reject });
      worker.postMessage({ seq, plain: plain.buffer, length, chunkIds, k, n }, [plain.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    const w = this._worker;
    this._worker = null;
    if (w) await w.terminate();
  }
}
