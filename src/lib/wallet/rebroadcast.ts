/**
 * The daemon sending its wallets' unconfirmed transactions again, as Bitcoin
 * Core's wallet does. bcoin 1.0.2 sends them again only when its wallet
 * reconnects to the node (at start), yet a transaction can leave the
 * mempool before it is mined: a reorganisation drops any transaction that
 * spends a coinbase (devnet renters fund contracts from coinbases), a full
 * mempool evicts, a node broadcasts while it has no peers. A contract's
 * funding would then sit unconfirmed until its negotiation lapses.
 *
 * Each round, once the wallet has taken in every block the node connected,
 * a pending wallet transaction missing from the mempool is added to it again
 * (the node then announces it to every peer, as it does any transaction
 * its mempool takes), and one still in the mempool is announced to the peers that
 * have neither sent it to us nor heard of it from us. bcoin's
 * `walletdb.resend()` is not used: it hands every pending transaction to
 * `node.relay`, which swallows the mempool's answer and announces even a
 * refused transaction, so a transaction whose input is gone would be sent
 * and logged on every round. Here a transaction the mempool refuses for good
 * (an input spent by another transaction, or gone from the chain) is logged
 * once and not tried again while this process runs; a contract it funds is
 * left to the negotiation's lapse rules. Any other refusal (an immature
 * coinbase, a full mempool) is logged once and tried again next round.
 */
import type { EventEmitter } from 'node:events';
import type { BTX } from '../chain/primitives.js';
import { CoalescedRounds } from '../coalesced-rounds.js';

/**
 * A round on every block, and at least once a minute. Core waits 12 to 36
 * hours, because it announces again every unconfirmed wallet transaction,
 * including those its peers hold, and doing so often would tell them which
 * transactions are its wallet's. Here a round sends to the mempool only what
 * the mempool has lost, and announces only to peers that have not heard of a
 * transaction, so a round that finds nothing sends nothing; the minute is for
 * the dev network, which mines only on demand, and for a refusal that clears
 * between blocks.
 */
const _EVERY_MS = 60_000;

/** bcoin's mempool refusing a transaction because one of its own transactions spends the same input. */
const _SPENT_ELSEWHERE = 'bad-txns-inputs-spent';
/** bcoin's refusals of a transaction it already has, in the mempool (or its orphans) or the chain. */
const _ALREADY_HELD = new Set(['txn-already-in-mempool', 'txn-already-known']);

interface PendingRecord { tx: BTX }

interface RebroadcastWallet { getPending(): Promise<PendingRecord[]> }

/** The members of a bcoin FullNode with its wallet plugin that a round uses. */
export interface RebroadcastNode extends EventEmitter {
  chain: { height: number };
  /** `addTX` resolves with the missing parents' hashes when it keeps the transaction as an orphan. */
  mempool: { hasEntry(hash: string): boolean; addTX(tx: BTX): Promise<unknown> };
  pool: { announceTX(tx: BTX): void };
  plugins: {
    walletdb: {
      wdb: {
        /** Held by the wallet while it takes in a block; bmutex, first come first served. */
        txLock: { lock(): Promise<() => void> };
        state: { height: number };
        getWallets(): Promise<string[]>;
        get(id: string): Promise<RebroadcastWallet | null>;
      };
    };
  };
  logger: { info(...args: unknown[]): void; warning(...args: unknown[]): void };
}

export class WalletRebroadcast {
  private readonly _rounds = new CoalescedRounds(() => this._loggedRound());
  /** Hashes refused for good: not sent again. */
  private readonly _givenUp = new Set<string>();
  /** Hashes whose refusal is logged, so a refusal that lasts is one line. */
  private readonly _logged = new Set<string>();

  private constructor(private readonly node: RebroadcastNode) {}

  /** Rounds from the next block or minute on; the node and its wallet are open. */
  static start(node: RebroadcastNode): WalletRebroadcast {
    const r = new WalletRebroadcast(node);
    // The node's 'connect' comes once its mempool has taken the block in.
    r._rounds.wakeOn(node, ['connect'], { everyMs: _EVERY_MS });
    return r;
  }

  close(): Promise<void> {
    return this._rounds.close();
  }

  /** Runs a round now, or once more after the one running; resolves when that round is done. */
  round(): Promise<void> {
    return this._rounds.run();
  }

  private async _loggedRound(): Promise<void> {
    try {
      await this._round();
    } catch (err) {
      this.node.logger.warning(`rebroadcast: round failed: ${(err as Error).message}`);
    }
  }

  private async _round(): Promise<void> {
    const wdb = this.node.plugins.walletdb.wdb;
    // The wallet takes in blocks after the node announced them; its lock is queued behind each block it was given.
    (await wdb.txLock.lock())();
    // Still behind (syncing): a transaction pending to the wallet may be in a block already.
    if (wdb.state.height !== this.node.chain.height) return;
    const pending = new Map<string, BTX>();
    for (const id of await wdb.getWallets()) {
      const wallet = await wdb.get(id);
      // A coinbase of a block a reorganisation undid stays pending to bcoin's wallet; no mempool takes one.
      for (const { tx } of (await wallet?.getPending()) ?? []) if (!tx.isCoinbase()) pending.set(tx.hash('hex'), tx);
    }
    for (const hash of [...this._givenUp]) if (!pending.has(hash)) this._givenUp.delete(hash);
    for (const hash of [...this._logged]) if (!pending.has(hash)) this._logged.delete(hash);
    for (const tx of parentsFirst(pending)) {
      if (this._rounds.closed) return;
      const hash = tx.hash('hex');
      if (this._givenUp.has(hash)) continue;
      if (this.node.mempool.hasEntry(hash)) this.node.pool.announceTX(tx);
      // A parent the mempool did not take back would make this an orphan, not a refusal of its own.
      else if (!tx.inputs.some(({ prevout }) => pending.has(prevout.hash) && !this.node.mempool.hasEntry(prevout.hash))) await this._resubmit(tx, hash);
    }
  }

  private async _resubmit(tx: BTX, hash: string): Promise<void> {
    let missing: unknown;
    try {
      missing = await this.node.mempool.addTX(tx);
    } catch (err) {
      const reason = (err as { reason?: string }).reason;
      if (reason !== undefined && _ALREADY_HELD.has(reason)) return;
      if (reason === _SPENT_ELSEWHERE) this._giveUp(hash, `${tx.txid()}: another transaction spends its input`);
      else this._logOnce(hash, `not taken back into the mempool yet, tried again each round: ${tx.txid()}: ${(err as Error).message}`);
      return;
    }
    if (missing) {
      this._giveUp(hash, `${tx.txid()}: an input it spends is spent or gone from the chain`);
      return;
    }
    this.node.logger.info(`rebroadcast: ${tx.txid()} was gone from the mempool; sent again`);
  }

  private _giveUp(hash: string, why: string): void {
    this._givenUp.add(hash);
    this.node.logger.warning(`rebroadcast: not sent again: ${why}`);
  }

  private _logOnce(hash: string, message: string): void {
    if (this._logged.has(hash)) return;
    this._logged.add(hash);
    this.node.logger.warning(`rebroadcast: ${message}`);
  }
}

/** The transactions in an order that puts each after those of them it spends, as the mempool needs. */
function parentsFirst(txs: Map<string, BTX>): BTX[] {
  const ordered: BTX[] = [];
  const placed = new Set<string>();
  const place = (hash: string, tx: BTX): void => {
    if (placed.has(hash)) return;
    placed.add(hash);
    for (const { prevout } of tx.inputs) {
      const parent = txs.get(prevout.hash);
      if (parent) place(prevout.hash, parent);
    }
    ordered.push(tx);
  };
  for (const [hash, tx] of txs) place(hash, tx);
  return ordered;
}
