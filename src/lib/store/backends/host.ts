/**
 * A contracted host's file server as a store Backend: one contract, one
 * renter key, one server URL. Shard ids are the server's sector ids. Every
 * failure becomes the BackendError kind the engine reacts to: 404 is
 * not-found; anything else that keeps the bytes from being stored or read
 * (down, refused, full, over the contract's size) is unavailable, with the
 * server's reason in the message.
 */
import { FileServerClient, FileServerError } from '../../server/file-server-client.js';
import { BackendError, checkId, type Backend } from '../backend.js';

export interface HostBackendOptions {
  /** Stable name of the host, recorded in manifests: its identity key is a good one. */
  name: string;
  url: string;
  contractId: string;
  /** The renter's secret key of this contract. */
  secretKey: Uint8Array;
  retries?: number;
  timeoutMs?: number;
}

export class HostBackend implements Backend {
  readonly name: string;
  private readonly client: FileServerClient;

  constructor(opts: HostBackendOptions) {
    if (typeof opts.name !== 'string' || opts.name.length === 0) throw new TypeError('name must be a non-empty string');
    this.name = opts.name;
    this.client = new FileServerClient({
      url: opts.url,
      contractId: opts.contractId,
      secretKey: opts.secretKey,
      retries: opts.retries,
      timeoutMs: opts.timeoutMs,
    });
  }

  private fail(err: unknown, id?: string): never {
    if (err instanceof FileServerError) {
      throw new BackendError(err.status === 404 ? 'not-found' : 'unavailable', this.name, err.message, id);
    }
    throw new BackendError('unavailable', this.name, (err as Error).message, id);
  }

  async put(id: string, data: Uint8Array, sha256?: string): Promise<void> {
    checkId(id);
    try {
      await this.client.put(id, data, sha256);
    } catch (err) {
      this.fail(err, id);
    }
  }

  async get(id: string, into?: Buffer): Promise<Uint8Array> {
    checkId(id);
    try {
      return await this.client.get(id, undefined, into);
    } catch (err) {
      this.fail(err, id);
    }
  }

  async has(id: string): Promise<boolean> {
    checkId(id);
    try {
      await this.client.get(id, { offset: 0, length: 1 });
      return true;
    } catch (err) {
      if (err instanceof FileServerError && err.status === 404) return false;
      this.fail(err, id);
    }
  }

  async delete(id: string): Promise<void> {
    checkId(id);
    try {
      await this.client.delete(id);
    } catch (err) {
      this.fail(err, id);
    }
  }

  async *list(): AsyncIterable<string> {
    let listing;
    try {
      listing = await this.client.list();
    } catch (err) {
      this.fail(err);
    }
    for (const sector of listing.sectors) yield sector.id;
  }
}
