/**
 * The file server's own clean-up: the sectors of a contract that is over are
 * deleted without anyone asking (docs/server.md, "End of a contract"). A
 * contract is over for its data when its Negotiator says `settled` (both escrow
 * outputs spent: nothing is left to prove or to pay), when the chain is
 * DELETE_GRACE blocks past its refundHeight (the renter has had every chance to
 * read its data and settle), or when the Negotiator has not known it for
 * `unknownGraceMs` (a contract that never reached the chain, or a chain
 * reorganised away).
 */
import type { ContractAuthority } from './authority.js';
import type { RequestLogger } from './request-log.js';
import type { SectorStore } from './sector-store.js';

/** Blocks after a contract's refundHeight during which its data is kept. */
export const DELETE_GRACE = 144;

export interface SweepOptions {
  /** Time between sweeps (default 5 min); the first runs at start. */
  intervalMs?: number;
  /** How long a contract the Negotiator does not know keeps its data (default 24 h, about 144 blocks). */
  unknownGraceMs?: number;
}

export class ContractSweeper {
  /** When each contract was first found unknown to the Negotiator (ms since the epoch). */
  private readonly unknownSince = new Map<string, number>();
  private readonly intervalMs: number;
  private readonly unknownGraceMs: number;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly store: SectorStore,
    private readonly authority: ContractAuthority,
    private readonly log: RequestLogger,
    options: SweepOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.intervalMs = options.intervalMs ?? 5 * 60_000;
    this.unknownGraceMs = options.unknownGraceMs ?? 24 * 3600_000;
    if (!Number.isSafeInteger(this.intervalMs) || this.intervalMs <= 0) throw new RangeError('sweep intervalMs must be a positive integer');
    if (!Number.isSafeInteger(this.unknownGraceMs) || this.unknownGraceMs < 0) throw new RangeError('sweep unknownGraceMs must be a non-negative integer');
  }

  start(): void {
    const tick = () => {
      this.running = this.sweep()
        .catch(() => undefined)
        .then(() => {
          this.running = null;
          if (this.timer !== null) this.timer = setTimeout(tick, this.intervalMs).unref();
        });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  /** Stops sweeping; resolves once a sweep under way is done. */
  async stop(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One pass over the stored contracts; returns those whose sectors it deleted. */
  async sweep(): Promise<string[]> {
    const dropped: string[] = [];
    for (const contractId of await this.store.contracts()) {
      const why = await this._over(contractId);
      if (why === null) continue;
      const t0 = performance.now();
      const freed = await this.store.dropContract(contractId);
      this.unknownSince.delete(contractId);
      dropped.push(contractId);
      this.log({
        time: new Date().toISOString(), remote: '-', method: 'SWEEP', path: `/v1/contracts/${contractId}/sectors`, status: 204,
        bytesIn: 0, bytesOut: 0, ms: performance.now() - t0, note: `${why}: ${freed} bytes deleted`,
      });
    }
    return dropped;
  }

  /** Why the contract's data may go, or null while it must stay (or the Negotiator cannot say). */
  private async _over(contractId: string): Promise<string | null> {
    let record;
    try {
      record = await this.authority.lookup(contractId);
    } catch {
      return null;
    }
    if (record !== null) {
      this.unknownSince.delete(contractId);
      if (record.state === 'settled') return 'contract settled';
      const { refundHeight, tipHeight } = record;
      if (record.state === 'expired' && refundHeight !== undefined && tipHeight !== undefined && tipHeight >= refundHeight + DELETE_GRACE) {
        return `chain at ${tipHeight}, ${DELETE_GRACE} blocks past the refund height ${refundHeight}`;
      }
      return null;
    }
    const since = this.unknownSince.get(contractId) ?? this.now();
    this.unknownSince.set(contractId, since);
    return this.now() - since >= this.unknownGraceMs ? 'contract unknown to the Negotiator' : null;
  }
}
