/**
 * A block's worth of registry writes that remembers what it overwrote, so
 * that disconnecting the block (a reorganisation) puts every key back as it
 * was. Reads see the batch's own pending writes: a contract funded earlier
 * in a block can be rated later in the same block.
 */
import { Reader, Writer } from '../net/wire.js';

export type BatchOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

/** The subset of a level@10 database (or sublevel) with Buffer keys and values that the registry uses. */
export interface RegistryDB {
  get(key: Buffer): Promise<Buffer | undefined>;
  batch(ops: BatchOp[]): Promise<void>;
  iterator(options: { gte: Buffer; lt: Buffer; reverse?: boolean }): AsyncIterable<[Buffer, Buffer]>;
  open(): Promise<void>;
  close(): Promise<void>;
}

export class UndoBatch {
  private readonly db: RegistryDB;
  /** hex key → new value (null: deleted). */
  private readonly pending = new Map<string, Buffer | null>();
  /** hex key → value before this block (null: absent). */
  private readonly before = new Map<string, Buffer | null>();

  constructor(db: RegistryDB) {
    this.db = db;
  }

  async get(key: Buffer): Promise<Buffer | undefined> {
    const hex = key.toString('hex');
    if (this.pending.has(hex)) return this.pending.get(hex) ?? undefined;
    return this.db.get(key);
  }

  private async _remember(key: Buffer): Promise<void> {
    const hex = key.toString('hex');
    if (!this.before.has(hex)) this.before.set(hex, (await this.db.get(key)) ?? null);
  }

  async put(key: Buffer, value: Buffer): Promise<void> {
    await this._remember(key);
    this.pending.set(key.toString('hex'), value);
  }

  async del(key: Buffer): Promise<void> {
    await this._remember(key);
    this.pending.set(key.toString('hex'), null);
  }

  /** The writes, plus `extra` (tip, undo record), as one atomic batch. */
  ops(extra: BatchOp[] = []): BatchOp[] {
    const ops: BatchOp[] = [];
    for (const [hex, value] of this.pending) {
      const key = Buffer.from(hex, 'hex');
      ops.push(value ? { type: 'put', key, value } : { type: 'del', key });
    }
    return [...ops, ...extra];
  }

  /** The undo record: every touched key with its previous value. */
  encodeUndo(): Buffer {
    const entries = [...this.before].map(([hex, prev]) => ({ key: Buffer.from(hex, 'hex'), prev }));
    const size = 4 + entries.reduce((n, e) => n + 1 + e.key.length + 1 + (e.prev ? 4 + e.prev.length : 0), 0);
    const w = new Writer(size).u32(entries.length);
    for (const e of entries) {
      w.bytes8(e.key).u8(e.prev ? 1 : 0);
      if (e.prev) w.u32(e.prev.length).bytes(e.prev);
    }
    return w.render();
  }

  /** The batch that restores what an undo record remembers. */
  static restoreOps(undo: Buffer): BatchOp[] {
    const r = new Reader(undo);
    const n = r.u32();
    const ops: BatchOp[] = [];
    for (let i = 0; i < n; i++) {
      const key = r.bytes8(255);
      if (r.u8()) ops.push({ type: 'put', key, value: r.bytes(r.u32()) });
      else ops.push({ type: 'del', key });
    }
    r.end('undo record');
    return ops;
  }
}
