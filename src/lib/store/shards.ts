/**
 * Moving shards between the engine and the backends: which backends answer,
 * placement (one shard per backend), uploads with retries that skip shards a
 * backend already acknowledged, and reads that take any k shards, moving on
 * to other backends when one is down or returns bytes whose hash is wrong, and
 * remember which backend that was.
 */
import { CloudCoinError, ExitCode } from '../errors.js';
import { type Backend, BackendError } from './backend.js';
import type { LocalIndex } from './localindex.js';
import { type SectorRecord, shardId } from './sector.js';

/** A backend that answered with bytes that do not match the requested id. */
export interface CorruptReport {
  backend: string;
  shard: string;
}

/** A backend that did not answer the probe before a push. */
export interface HostDown {
  backend: string;
  /** The backend's error (without its name), or the timeout. */
  reason: string;
}

/**
 * The probe's id: shard ids are SHA-256 hashes and manifest ids end in a keyed
 * 128-bit tag, so no object has this one.
 */
const _PROBE_ID = '0'.repeat(64);

export interface ShardIOOptions {
  /** Attempts per shard upload for backends that are unavailable (default 3). */
  retries?: number;
  /** First retry delay in ms, doubled each time (default 200). */
  retryDelayMs?: number;
  /**
   * Computes a fetched shard's id (shardId) and hands back its bytes: the
   * store does it on the sector worker, off the main thread (default: here).
   */
  hash?: ShardHasher;
}

export type ShardHasher = (data: Uint8Array) => Promise<{ hex: string; data: Uint8Array }>;

const _hashHere: ShardHasher = async (data) => ({ hex: shardId(data), data });

const _sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ShardIO {
  readonly backends: Backend[];
  /** Every corrupt answer seen, in order. */
  readonly corrupt: CorruptReport[] = [];
  /** Bytes sent and received, for progress and summaries. */
  sent = 0;
  received = 0;
  private readonly _byName = new Map<string, Backend>();
  private readonly _retries: number;
  private readonly _delay: number;
  private readonly _hash: ShardHasher;

  constructor(backends: Backend[], options: ShardIOOptions = {}) {
    if (!Array.isArray(backends) || backends.length === 0) throw new TypeError('at least one backend is needed');
    for (const b of backends) {
      if (this._byName.has(b.name)) throw new RangeError(`two backends are named ${JSON.stringify(b.name)}`);
      this._byName.set(b.name, b);
    }
    this.backends = backends;
    this._retries = options.retries ?? 3;
    this._delay = options.retryDelayMs ?? 200;
    this._hash = options.hash ?? _hashHere;
  }

  backend(name: string): Backend | undefined {
    return this._byName.get(name);
  }

  /**
   * Backends for shards 0..n-1 of a sector among `among` (the backends that
   * answered the probe): a rotation chosen by the sector id, so data shards
   * (read first) spread evenly over them.
   */
  placement(sectorId: string, n: number, among: Backend[]): Backend[] {
    if (n > among.length) throw new RangeError(`n = ${n} shards need ${n} backends, have ${among.length}`);
    const rot = parseInt(sectorId.slice(0, 8), 16) % among.length;
    return Array.from({ length: n }, (_, i) => among[(rot + i) % among.length]);
  }

  /**
   * Asks every backend at once whether it holds an id no object can have: any
   * answer, yes or no, means it is up. A BackendError, or no answer within
   * `timeoutMs`, means it is down (with the reason). Other errors are bugs and
   * are thrown.
   */
  async probe(timeoutMs: number): Promise<{ up: Backend[]; down: HostDown[] }> {
    const reasons = await Promise.all(
      this.backends.map(async (b): Promise<string | null> => {
        let timer: NodeJS.Timeout | undefined;
        // The rejection waits one turn of the event loop past the timer: an answer that
        // arrived while the loop was busy is then taken, not mistaken for a timeout.
        const late = new Promise<never>((_, reject) => {
          timer = setTimeout(() => setImmediate(() => reject(new BackendError('unavailable', b.name, `no answer in ${timeoutMs} ms`))), timeoutMs);
        });
        // A request still out when the timer fires settles later; its result no longer matters.
        const asked = b.has(_PROBE_ID);
        asked.catch(() => undefined);
        try {
          await Promise.race([asked, late]);
          return null;
        } catch (err: any) {
          if (!(err instanceof BackendError)) throw err;
          return err.message.startsWith(`${b.name}: `) ? err.message.slice(b.name.length + 2) : err.message;
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    return {
      up: this.backends.filter((_, i) => reasons[i] === null),
      down: this.backends.flatMap((b, i) => (reasons[i] === null ? [] : [{ backend: b.name, reason: reasons[i]! }])),
    };
  }

  /** Stores `data` (of hex SHA-256 `sha256`, if known) under `id` on `backend`, retrying while it is unavailable. */
  async put(backend: Backend, id: string, data: Uint8Array, sha256?: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await backend.put(id, data, sha256);
        this.sent += data.length;
        return;
      } catch (err) {
        const retryable = err instanceof BackendError && err.kind === 'unavailable';
        if (!retryable || attempt >= this._retries) throw err;
        await _sleep(this._delay * 2 ** (attempt - 1));
      }
    }
  }

  /**
   * Uploads a sector's shards in parallel, skipping those the index says were
   * acknowledged, and records each acknowledgement as it arrives. Returns the
   * bytes actually sent. Throws CloudCoinError EUPLOAD if any shard could not be stored.
   */
  async putSector(rec: SectorRecord, shards: Uint8Array[], index: LocalIndex): Promise<number> {
    let bytes = 0;
    const failures: string[] = [];
    const acked = await index.acked(rec.shards.map(([id]) => id));
    await Promise.all(
      rec.shards.map(async ([id, name], i) => {
        const backend = this._byName.get(name)!;
        if (acked[i] === name) return;
        try {
          // A shard's id is its SHA-256 (sealed by the sector worker, see shardId).
          await this.put(backend, id, shards[i], id);
          bytes += shards[i].length;
        } catch (err: any) {
          failures.push(`${name}: ${err.message}`);
          return;
        }
        // Not a failure of the backend: the shard is stored (a full disk under the index, say).
        await index.putAck(id, name);
      }),
    );
    if (failures.length > 0) {
      throw new CloudCoinError('EUPLOAD', `sector ${rec.id}: ${failures.length} shard(s) not stored (${failures.join('; ')})`, ExitCode.partial);
    }
    return bytes;
  }

  /** Fetches a shard and checks its hash; a mismatch is recorded and thrown as BackendError 'corrupt'. */
  async getShard(backend: Backend, id: string): Promise<Uint8Array> {
    const { hex, data } = await this._hash(await backend.get(id));
    this.received += data.length;
    if (hex !== id) {
      this.corrupt.push({ backend: backend.name, shard: id });
      throw new BackendError('corrupt', backend.name, `returned wrong bytes for shard ${id}`, id);
    }
    return data;
  }

  /** Records that shard `index` of `rec` came back with bytes whose hash is not its id. */
  reportCorrupt(rec: SectorRecord, index: number): void {
    const [shard, name] = rec.shards[index];
    this.corrupt.push({ backend: name, shard });
  }

  /**
   * Any k shards of a sector (null for the others), for decoding. Data shards
   * are asked for first (no decoding needed); each failure starts a request for
   * one more shard. Each is checked against its id unless `verify` is false
   * (the caller then checks the sector as a whole, see SnapshotReader); shards
   * in `skip` are not asked for. Each request is handed one of the `into`
   * buffers while they last (see Backend.get): they are taken off the array.
   * Throws CloudCoinError EUNAVAILABLE listing the reasons when fewer than k arrive.
   */
  async getShards(rec: SectorRecord, options: { verify?: boolean; skip?: ReadonlySet<number>; into?: Buffer[] } = {}): Promise<(Uint8Array | null)[]> {
    const verify = options.verify ?? true;
    const n = rec.shards.length;
    const got: (Uint8Array | null)[] = new Array(n).fill(null);
    const reasons: string[] = [];
    let next = 0;
    let have = 0;
    const tryOne = async (): Promise<void> => {
      while (next < n && have < rec.k) {
        const i = next++;
        if (options.skip?.has(i)) {
          reasons.push(`shard ${i}: wrong bytes`);
          continue;
        }
        const [id, name] = rec.shards[i];
        const backend = this._byName.get(name);
        if (!backend) {
          reasons.push(`shard ${i}: backend ${name} not configured`);
          continue;
        }
        try {
          if (verify) got[i] = await this.getShard(backend, id);
          else {
            got[i] = await backend.get(id, options.into?.pop());
            this.received += got[i]!.length;
          }
          have++;
          return;
        } catch (err: any) {
          reasons.push(`shard ${i}: ${err.message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: rec.k }, tryOne));
    if (have < rec.k) {
      throw new CloudCoinError('EUNAVAILABLE', `sector ${rec.id}: only ${have} of ${rec.k} needed shards available (${reasons.join('; ')})`, ExitCode.partial);
    }
    return got;
  }
}
