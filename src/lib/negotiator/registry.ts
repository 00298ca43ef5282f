/**
 * The contract registry: every contract and rating record on the chain,
 * indexed into LevelDB block by block (layout.ts lists the keys).
 *
 * The node calls connectBlock for each block it adds to the main chain and
 * disconnectBlock, newest first, for each it removes in a reorganisation.
 * Only the chain is read, so any node that indexes the same blocks holds the
 * same registry. The rules:
 *
 * - A record is read from output 0 of a non-coinbase transaction (one record
 *   a transaction), and must decode (stateless sanity).
 * - A contract counts (is "funded") if both parties' signatures verify, the
 *   same transaction locks the escrow (outputs 1 and 2, escrow.ts), and its
 *   id is new. Spending an escrow output is recorded, with what it paid when
 *   it is a settlement or a refund (spendOutcome); both spent = settled.
 * - A rating counts if its contract is funded, it is mined at or after the
 *   contract's end height (a party rates what happened, not what it
 *   expects), the rater is the contract's renter or host, its signature
 *   verifies, and that party has not rated the contract before. Everything
 *   else is ignored.
 */
import { Level } from 'level';
import { CloudCoinError } from '../errors.js';
import { isProtocolError } from '../net/errors.js';
import type { BBlock, BInput, BTX } from '../chain/primitives.js';
import { endHeightOf } from '../net/terms.js';
import { ContractEntry, RatingEntry, type SideOutcome } from './entries.js';
import {
  COOPERATIVE_WITNESS_ITEMS, FundingOutput, REFUND_WITNESS_ITEMS, escrowValue, locksEscrow, type EscrowKind,
} from './escrow.js';
import { LAYOUT_VERSION, layout, range } from './layout.js';
import { ContractRecord, OutcomeRecord, RatingRecord, decodeRecord, type AnyRecord } from './records.js';
import { outcomeKindOf, settlementAmounts, settlementOutputs, type SettlementKind } from './settlement.js';
import { UndoBatch, type BatchOp, type RegistryDB } from './undo.js';

export interface Tip {
  height: number;
  /** Block hash, internal byte order. */
  hash: Buffer;
}

export type Role = 'renter' | 'host' | 'any';

/** What one block changed. */
export interface BlockSummary {
  contracts: number;
  ratings: number;
  spends: number;
}

function _u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

function _recordOf(tx: BTX): AnyRecord | null {
  if (tx.isCoinbase() || tx.outputs.length === 0) return null;
  const data = tx.outputs[FundingOutput.RECORD].script.getNulldata();
  if (!data) return null;
  try {
    return decodeRecord(data);
  } catch (err) {
    if (isProtocolError(err)) return null;
    throw err;
  }
}

/**
 * What a spend of escrow output `kind` paid, judged from the transaction
 * alone: the refund path (a 3-item witness) returns the output to its owner;
 * the 2-of-2 branch (5 items) is a settlement if output 0 is this contract's
 * outcome record of the kind for that output and the outputs are exactly
 * what settlementOutputs computes for its counts. Any other 2-of-2 spend:
 * null, its split is not judged.
 */
export function spendOutcome(tx: BTX, input: BInput, record: ContractRecord, kind: EscrowKind): SideOutcome | null {
  const { terms } = record;
  const items = input.witness.toItems().length;
  if (items === REFUND_WITNESS_ITEMS) {
    const value = escrowValue(terms, kind);
    return {
      by: 'refund', seq: 0, windows: 0, proven: 0, missed: 0, hostPaid: 0,
      renterRefunded: kind === 'payment' ? value : 0, collateralReturned: kind === 'collateral' ? value : 0, burned: 0,
    };
  }
  if (items !== COOPERATIVE_WITNESS_ITEMS) return null;
  const rec = _recordOf(tx);
  const settlement: SettlementKind = kind === 'payment' ? 'pay' : 'split';
  if (!(rec instanceof OutcomeRecord) || rec.kind !== outcomeKindOf(settlement) || !record.id().equals(rec.contractId)) return null;
  const state = { seq: rec.seq, windows: rec.windows, proven: rec.proven, missed: rec.missed };
  const expected = settlementOutputs(settlement, terms, state);
  if (tx.outputs.length !== expected.length) return null;
  if (!expected.every((o, i) => tx.outputs[i].value === o.value && tx.outputs[i].script.equals(o.script))) return null;
  const a = settlementAmounts(settlement, terms, state);
  return {
    by: 'settlement', ...state,
    hostPaid: kind === 'payment' ? a.hostPaid : 0,
    renterRefunded: a.renterRefunded,
    collateralReturned: kind === 'collateral' ? a.hostPaid : 0,
    burned: a.burned,
  };
}

export class Registry {
  readonly db: RegistryDB;
  private tip: Tip | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  /** `db`: a level@10 database or sublevel opened with Buffer keys and values. */
  constructor(db: RegistryDB) {
    this.db = db;
  }

  /** A registry in its own LevelDB directory. */
  static at(location: string): Registry {
    if (typeof location !== 'string' || location.length === 0) throw new TypeError('location must be a directory path');
    return new Registry(new Level<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' }) as unknown as RegistryDB);
  }

  async open(): Promise<void> {
    await this.db.open();
    const v = await this.db.get(layout.V);
    if (v && v.readUInt32LE(0) > LAYOUT_VERSION) {
      throw new CloudCoinError('registry-version', `registry layout ${v.readUInt32LE(0)} is newer than this version's ${LAYOUT_VERSION}`);
    }
    // An older layout is dropped: everything in it derives from the chain, so the indexer rebuilds it from genesis.
    if (!v || v.readUInt32LE(0) < LAYOUT_VERSION) await this._reset();
    const t = await this.db.get(layout.T);
    this.tip = t ? { height: t.readUInt32LE(0), hash: t.subarray(4, 36) } : null;
  }

  private async _reset(): Promise<void> {
    const ops: BatchOp[] = [];
    for await (const [k] of this.db.iterator({ gte: Buffer.alloc(0), lt: Buffer.alloc(1, 0xff) })) ops.push({ type: 'del', key: k });
    ops.push({ type: 'put', key: layout.V, value: _u32(LAYOUT_VERSION) });
    await this.db.batch(ops);
  }

  async close(): Promise<void> {
    await this.queue;
    await this.db.close();
  }

  /** The last block indexed, or null before the first. */
  getTip(): Tip | null {
    return this.tip;
  }

  /** Writes are serialised: the node may emit the next block before the last one is indexed. */
  private _serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Indexes the block at `height`, which must extend the current tip. */
  connectBlock(block: BBlock, height: number): Promise<BlockSummary> {
    return this._serial(() => this._connect(block, height));
  }

  /** Removes the tip block (at `height`), restoring what it changed. */
  disconnectBlock(block: BBlock, height: number): Promise<void> {
    return this._serial(() => this._disconnect(block, height));
  }

  private async _connect(block: BBlock, height: number): Promise<BlockSummary> {
    if (!Number.isInteger(height) || height < 0 || height > 0xffffffff) throw new RangeError(`height must be a uint32, got ${height}`);
    if (this.tip) {
      if (height !== this.tip.height + 1 || block.prevBlock !== this.tip.hash.toString('hex')) {
        throw new CloudCoinError('registry-order', `block at ${height} does not extend the registry tip at ${this.tip.height}`);
      }
    }
    const batch = new UndoBatch(this.db);
    const summary: BlockSummary = { contracts: 0, ratings: 0, spends: 0 };
    for (const tx of block.txs) {
      summary.spends += await this._spends(batch, tx, height);
      const rec = _recordOf(tx);
      if (rec instanceof ContractRecord && await this._addContract(batch, tx, rec, height)) summary.contracts++;
      if (rec instanceof RatingRecord && await this._addRating(batch, tx, rec, height)) summary.ratings++;
    }
    const tip = { height, hash: block.hash() };
    await this.db.batch(batch.ops([
      { type: 'put', key: layout.u(height), value: batch.encodeUndo() },
      { type: 'put', key: layout.T, value: Buffer.concat([_u32(height), tip.hash]) },
    ]));
    this.tip = tip;
    return summary;
  }

  private async _disconnect(block: BBlock, height: number): Promise<void> {
    if (!this.tip || this.tip.height !== height || !this.tip.hash.equals(block.hash())) {
      throw new CloudCoinError('registry-order', `block at ${height} is not the registry tip`);
    }
    const undo = await this.db.get(layout.u(height));
    if (!undo) throw new CloudCoinError('registry-undo', `no undo record for height ${height}`);
    const prev = Buffer.from(block.prevBlock, 'hex');
    // The first block indexed has no parent in the registry: undoing it empties the tip.
    const hasParent = height > 0 && Boolean(await this.db.get(layout.u(height - 1)));
    await this.db.batch([
      ...UndoBatch.restoreOps(undo),
      { type: 'del', key: layout.u(height) },
      hasParent ? { type: 'put', key: layout.T, value: Buffer.concat([_u32(height - 1), prev]) } : { type: 'del', key: layout.T },
    ]);
    this.tip = hasParent ? { height: height - 1, hash: prev } : null;
  }

  /** Marks escrow outputs this transaction spends; returns how many. */
  private async _spends(batch: UndoBatch, tx: BTX, height: number): Promise<number> {
    if (tx.isCoinbase()) return 0;
    let n = 0;
    for (const input of tx.inputs) {
      const { hash, index } = input.prevout;
      const id = await batch.get(layout.o(Buffer.from(hash, 'hex'), index));
      if (!id) continue;
      const raw = await batch.get(layout.c(id));
      if (!raw) continue;
      const entry = ContractEntry.decode(raw);
      const kind = index === FundingOutput.PAYMENT ? 'payment' : 'collateral';
      const spend = { txHash: tx.hash(), height, outcome: spendOutcome(tx, input, entry.record, kind) };
      if (index === FundingOutput.PAYMENT) entry.paymentSpent = spend;
      else entry.collateralSpent = spend;
      await batch.put(layout.c(id), entry.encode());
      n++;
    }
    return n;
  }

  private async _addContract(batch: UndoBatch, tx: BTX, rec: ContractRecord, height: number): Promise<boolean> {
    const id = rec.id();
    if (await batch.get(layout.c(id))) return false;
    if (!locksEscrow(tx, rec.terms) || !rec.verify()) return false;
    const hash = tx.hash();
    await batch.put(layout.c(id), new ContractEntry(rec, hash, height).encode());
    await batch.put(layout.o(hash, FundingOutput.PAYMENT), id);
    await batch.put(layout.o(hash, FundingOutput.COLLATERAL), id);
    await batch.put(layout.r(rec.terms.renterKey, id), Buffer.alloc(0));
    await batch.put(layout.h(rec.terms.hostKey, id), Buffer.alloc(0));
    return true;
  }

  private async _addRating(batch: UndoBatch, tx: BTX, rating: RatingRecord, height: number): Promise<boolean> {
    const raw = await batch.get(layout.c(rating.contractId));
    if (!raw) return false;
    const { terms } = ContractEntry.decode(raw).record;
    if (height < endHeightOf(terms)) return false;
    const rater = Buffer.from(rating.raterKey);
    const ratee = rater.equals(terms.renterKey) ? terms.hostKey : rater.equals(terms.hostKey) ? terms.renterKey : null;
    if (!ratee) return false;
    if (await batch.get(layout.t(rating.contractId, rater))) return false;
    if (!rating.verify()) return false;
    await batch.put(layout.t(rating.contractId, rater), new RatingEntry(rating, tx.hash(), height).encode());
    await batch.put(layout.k(ratee, rating.contractId, rater), Buffer.alloc(0));
    return true;
  }

  async getContract(id: Uint8Array): Promise<ContractEntry | null> {
    if (!(id instanceof Uint8Array) || id.length !== 32) throw new TypeError('contract id must be 32 bytes');
    const raw = await this.db.get(layout.c(id));
    return raw ? ContractEntry.decode(raw) : null;
  }

  /** Contracts in which `key` is the renter, the host, or either; ordered by contract id. */
  async listByKey(key: Uint8Array, role: Role = 'any'): Promise<ContractEntry[]> {
    if (!(key instanceof Uint8Array) || key.length !== 33) throw new TypeError('key must be a 33-byte public key');
    const out: ContractEntry[] = [];
    const prefixes = role === 'renter' ? [layout.r(key)] : role === 'host' ? [layout.h(key)] : [layout.r(key), layout.h(key)];
    for (const prefix of prefixes) {
      for await (const [k] of this.db.iterator(range(prefix))) {
        const entry = await this.getContract(k.subarray(prefix.length));
        if (entry) out.push(entry);
      }
    }
    return out;
  }

  /** Ratings `key` received (as renter or host), ordered by contract id then rater. */
  async ratingsOf(key: Uint8Array): Promise<RatingEntry[]> {
    if (!(key instanceof Uint8Array) || key.length !== 33) throw new TypeError('key must be a 33-byte public key');
    const prefix = layout.k(key);
    const out: RatingEntry[] = [];
    for await (const [k] of this.db.iterator(range(prefix))) {
      const id = k.subarray(prefix.length, prefix.length + 32);
      const raw = await this.db.get(layout.t(id, k.subarray(prefix.length + 32)));
      if (raw) out.push(RatingEntry.decode(raw));
    }
    return out;
  }

  /** Every contract indexed, ordered by contract id. */
  async allContracts(): Promise<ContractEntry[]> {
    const out: ContractEntry[] = [];
    for await (const [, v] of this.db.iterator(range(Buffer.from('c')))) out.push(ContractEntry.decode(v));
    return out;
  }

  /** Every rating indexed, ordered by contract id then rater. */
  async allRatings(): Promise<RatingEntry[]> {
    const out: RatingEntry[] = [];
    for await (const [, v] of this.db.iterator(range(Buffer.from('t')))) out.push(RatingEntry.decode(v));
    return out;
  }

  /** The (at most two) ratings of one contract. */
  async ratingsFor(contractId: Uint8Array): Promise<RatingEntry[]> {
    if (!(contractId instanceof Uint8Array) || contractId.length !== 32) throw new TypeError('contract id must be 32 bytes');
    const out: RatingEntry[] = [];
    for await (const [, v] of this.db.iterator(range(layout.t(contractId)))) out.push(RatingEntry.decode(v));
    return out;
  }
}
