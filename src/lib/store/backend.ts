/**
 * The one seam between the store engine and wherever shards live. Each host
 * (a contracted file server) is one Backend; so is a local directory in tests.
 * Modelled on restic's backend interface: opaque names in, bytes out, and the
 * engine never assumes more than this contract. Retries, rate limits and caches
 * belong in wrappers around a Backend, not in its implementations.
 *
 * Ids are lowercase hex strings of 64 characters (32 bytes). Shard ids are the
 * SHA-256 of the shard's bytes; manifest ids are random-looking too (see
 * docs/format.md), so a host cannot tell what an object is from its id.
 */

/** Why a backend call failed; the engine reacts differently to each. */
export type BackendErrorKind =
  /** The backend answered: it does not hold this id. */
  | 'not-found'
  /** The backend could not answer (down, timeout, refused); the id may well be there. */
  | 'unavailable'
  /** The backend answered with bytes that fail verification (set by the engine, or by a backend that checks). */
  | 'corrupt';

export class BackendError extends Error {
  readonly kind: BackendErrorKind;
  /** `Backend.name` of the backend at fault. */
  readonly backend: string;
  readonly id: string | undefined;

  constructor(kind: BackendErrorKind, backend: string, message: string, id?: string) {
    super(`${backend}: ${message}`);
    this.name = 'BackendError';
    this.kind = kind;
    this.backend = backend;
    this.id = id;
  }
}

export interface Backend {
  /**
   * Stable, unique name of this backend (a host id for remote hosts). Manifests
   * record shard placement by this name, and corruption reports use it.
   */
  readonly name: string;

  /**
   * Stores `data` under `id`. Resolves only once the bytes are durable: the
   * engine records the shard as acknowledged and will not upload it again.
   * Storing an id that exists with the same bytes must succeed (idempotent).
   * `data` is never empty (no shard or header is), so a backend may refuse that.
   * Throws BackendError 'unavailable' when it cannot store.
   *
   * `sha256` is the SHA-256 of `data` in hex when the caller knows it (a
   * shard's id is), so a backend that sends it along need not hash the bytes
   * again; a backend may ignore it.
   */
  put(id: string, data: Uint8Array, sha256?: string): Promise<void>;

  /**
   * Returns the bytes stored under `id`. Throws BackendError 'not-found' when the
   * backend does not hold it, 'unavailable' when it cannot answer. The engine
   * verifies the bytes itself; a backend need not.
   *
   * `into`, when given, is memory the caller hands over for the answer: a
   * backend may return the bytes as a view of it, from its start, when they
   * fit (the engine reads shard after shard into the same few buffers this
   * way). The caller uses only the returned bytes. A backend may ignore it.
   */
  get(id: string, into?: Buffer): Promise<Uint8Array>;

  /** Whether `id` is stored. Throws BackendError 'unavailable' when it cannot answer. */
  has(id: string): Promise<boolean>;

  /** Removes `id`. Removing an id that is not there succeeds. Throws 'unavailable' when it cannot answer. */
  delete(id: string): Promise<void>;

  /** Every stored id, in any order, each once. Throws 'unavailable' when it cannot answer. */
  list(): AsyncIterable<string>;
}

const _ID = /^[0-9a-f]{64}$/;

/** Throws TypeError unless `id` is a 64-character lowercase hex id; backends call this first. */
export function checkId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || !_ID.test(id)) throw new TypeError(`backend id must be 64 lowercase hex characters, got ${JSON.stringify(id)}`);
}
