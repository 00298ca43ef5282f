/**
 * The renter's side of fulfilment, run by every node for the contracts in
 * which its key is the renter, from the start height until the refund
 * height (docs/protocol.md §8.6). Each round, for each such contract:
 *
 * 1. Commitment: the host's file server lists its sectors' roots; when they
 *    cover exactly the sectors the store put there (or, if the store never
 *    said, whatever the host holds) and differ from the latest commitment,
 *    the renter signs a new revision and the file server has its Negotiator
 *    countersign it. A sector missing on the host is not committed away: the
 *    latest commitment still holds it, and a challenge landing on it fails.
 * 2. Windows: each window whose opening block exists and that is not decided
 *    is challenged (the segment the block hash picks, verified against the
 *    sector root the latest commitment holds, plus one sector fetched whole
 *    and hashed), retried each round until its deadline, then recorded
 *    proven or missed.
 * 3. Payment: when the decided windows changed, a new payment revision goes
 *    to the host (renter-payments.ts).
 *
 * The host's file server URL comes from its offer; the last one seen is kept,
 * so a withdrawn offer does not leave a contract unchallenged. Work is
 * bounded per round; a contract that fails is logged once per distinct
 * error and tried again later. Nothing is challenged while the node's tip
 * is hours old (the node is catching up).
 */
import { randomInt } from 'node:crypto';
import { merkleRoot, verifyMerkleProof, type MerkleProof } from '../../crypto/merkle.js';
import type { ContractEntry } from '../entries.js';
import { refundHeightOf } from '../escrow.js';
import type { OfferPool } from '../offerpool.js';
import { unixNow } from '../params.js';
import { Revision } from '../revision.js';
import { challengeOf } from '../windows.js';
import { shortId, type FulfilmentContext } from './fulfilment-context.js';
import type { FulfilmentStep } from './fulfilment-loop.js';
import type { CommittedSector } from './fulfilment-store.js';
import type { RenterPayments } from './renter-payments.js';

/** What the renter asks of a host's file server (FileServerClient's calls). */
export interface HostStorage {
  roots(): Promise<{ id: string; size: number; root: string }[]>;
  revise(revisionHex: string): Promise<string>;
  proof(sectorId: string, segmentIndex: number): Promise<MerkleProof>;
  get(sectorId: string): Promise<Uint8Array>;
  list(): Promise<unknown>;
}

export type HostStorageFactory = (url: string, contractId: string) => HostStorage;

/**
 * Older than this, the tip says the node is catching up: windows would be
 * first tried at heights the chain then passes in minutes, and deadlines
 * counted in blocks would give the host no time at all.
 */
const MAX_TIP_AGE_S = 3 * 3600;
/** Challenges per round over all contracts: each may fetch a whole sector (4 MiB). */
const MAX_CHALLENGES_PER_ROUND = 16;
/** A contract whose host failed is asked again after this long, not every round; its windows still reach their deadlines meanwhile. */
const RETRY_AFTER_MS = 20_000;

export class RenterFulfilment implements FulfilmentStep {
  readonly name = 'renter fulfilment';
  /**
   * contract id hex → how many times the store described its sectors since
   * start, and how many of those its commitment was brought up to date with:
   * a description that arrives while a commitment is being made is not lost.
   */
  private readonly described = new Map<string, number>();
  private readonly committed = new Map<string, number>();
  /** contract id hex → what was last logged about its commitment. */
  private readonly notes = new Map<string, string>();
  /** contract id hex → when its host last failed, and the error logged. */
  private readonly failed = new Map<string, { at: number; message: string }>();

  constructor(
    private readonly ctx: FulfilmentContext,
    private readonly pool: OfferPool,
    private readonly payments: RenterPayments,
    private readonly storage: HostStorageFactory,
  ) {}

  /** The store described the contract's sectors anew: its commitment is checked next round even if no window is open. */
  expectedChanged(contractId: string): void {
    this.described.set(contractId, (this.described.get(contractId) ?? 0) + 1);
  }

  async run(): Promise<void> {
    if (this.ctx.node.tipTime() < unixNow() - MAX_TIP_AGE_S) return;
    await this.ctx.synced();
    const tip = this.ctx.node.chain.height;
    let budget = MAX_CHALLENGES_PER_ROUND;
    for (const e of await this.ctx.registry.listByKey(this.ctx.identity.publicKey, 'renter')) {
      if (budget <= 0) break;
      const terms = e.record.terms;
      // In the block that funds it the host's node may not know the contract yet, and its file server would remember that a while.
      if (tip < terms.startHeight || tip <= e.height || tip >= refundHeightOf(terms)) continue;
      const hex = e.record.id().toString('hex');
      const failed = this.failed.get(hex);
      const r = await this._contract(e, tip, budget, failed && Date.now() - failed.at < RETRY_AFTER_MS ? failed.message : null);
      budget -= r.spent;
      if (r.error === null) this.failed.delete(hex);
      else if (r.asked) {
        if (failed?.message !== r.error) this.ctx.node.logger.warning(`negotiator: contract ${shortId(e.record.id())}: ${r.error}; trying again`);
        this.failed.set(hex, { at: Date.now(), message: r.error });
      }
      await this.payments.update(e, await this.ctx.store.windows(e.record.id()));
      await this.payments.resend(e);
    }
  }

  /** The host's file server URL: from its live offer, else the last one seen. */
  private async _url(hostKey: Uint8Array): Promise<string> {
    const offer = this.pool.offerOf(hostKey, unixNow());
    const kept = await this.ctx.store.hostUrl(hostKey);
    if (offer && offer.url !== kept) await this.ctx.store.setHostUrl(hostKey, offer.url);
    const url = offer?.url ?? kept;
    if (!url) throw new Error('no file server URL known for its host (no offer of it seen)');
    return url;
  }

  /**
   * Works on one contract: returns how many challenges it spent and what
   * failed, if anything. A host that cannot be reached fails its windows'
   * challenges like a wrong proof: past their deadlines they are missed.
   * `waiting`: the host failed a moment ago (this error); it is not asked
   * again now, but windows past their deadline are decided.
   */
  private async _contract(e: ContractEntry, tip: number, budget: number, waiting: string | null): Promise<{ spent: number; asked: boolean; error: string | null }> {
    const id = e.record.id();
    const windows = this.ctx.windowsOf(e);
    const states = await this.ctx.store.windows(id);
    const open: number[] = [];
    for (let w = 0; w < windows.openedBy(tip) && open.length < budget; w++) if (!states.get(w)?.outcome) open.push(w);
    const hex = id.toString('hex');
    const described = this.described.get(hex) ?? 0;
    if (open.length === 0 && this.committed.get(hex) === described) return { spent: 0, asked: false, error: null };
    let host: HostStorage | null = null;
    let error = waiting;
    if (waiting === null) {
      try {
        host = this.storage(await this._url(e.record.terms.hostKey), hex);
        // From the end on nothing is written: the commitment in force is the last one.
        if (tip < windows.startHeight + windows.duration) await this._commit(e, host);
        this.committed.set(hex, described);
      } catch (err) {
        error = (err as Error).message;
      }
    }
    for (const w of open) {
      const state = states.get(w) ?? { firstTry: tip, outcome: null, height: null };
      let proven = false;
      if (waiting !== null && tip < windows.deadline(w, state.firstTry)) {
        if (!states.has(w)) await this.ctx.store.setWindow(id, w, state);
        continue;
      }
      try {
        if (!host) throw new Error(error ?? 'no host');
        proven = await this._challenge(e, host, w);
        if (!proven) error = `window ${w}: the proof does not match the commitment`;
      } catch (err) {
        error = `window ${w}: ${(err as Error).message}`;
      }
      if (proven || tip >= windows.deadline(w, state.firstTry)) {
        await this.ctx.store.setWindow(id, w, { firstTry: state.firstTry, outcome: proven ? 'proven' : 'missed', height: tip });
        this.ctx.node.logger.info(`negotiator: contract ${shortId(id)} window ${w}: ${proven ? 'proven' : `missed (${error})`}`);
      } else if (!states.has(w)) {
        await this.ctx.store.setWindow(id, w, state);
      }
    }
    const asked = waiting === null;
    return { spent: asked ? open.length : 0, asked, error };
  }

  /** Signs a new commitment revision when the host's roots of the expected sectors differ from the latest one. */
  private async _commit(e: ContractEntry, host: HostStorage): Promise<void> {
    const terms = e.record.terms;
    const id = e.record.id();
    const listed = await host.roots();
    const expected = await this.ctx.store.expectedSectors(id);
    let sectors: CommittedSector[] = listed;
    if (expected !== null) {
      const byId = new Map(listed.map((s) => [s.id, s]));
      const missing = expected.filter((s) => !byId.has(s)).length;
      // The host's file server commits to what it holds: a set that differs cannot be signed, and the latest commitment stays in force.
      const differs = missing > 0 || listed.length !== expected.length;
      this._note(id, differs ? `the host lists ${listed.length} sectors, ${missing} of the ${expected.length} the store put there missing: the commitment stays as it is` : null);
      if (differs) return;
      sectors = expected.map((s) => byId.get(s)!);
    }
    const kept = await this.ctx.store.commitment(id);
    const latest = kept ? Revision.decode(Buffer.from(kept.revision, 'hex')) : null;
    const leaves = sectors.map((s) => ({ ...s, root: Buffer.from(s.root, 'hex') }));
    let next = Revision.fromSectors(id, (latest?.revision ?? 0) + 1, leaves);
    if (latest && Buffer.from(latest.root).equals(next.root)) return;
    if (next.totalBytes > terms.size) throw new Error(`the host lists ${next.totalBytes} bytes, the contract rents ${terms.size}`);
    let answer: string;
    try {
      answer = await host.revise(next.signAsRenter(this.ctx.identity.secretKey).encode().toString('hex'));
    } catch (err) {
      // The host holds a later revision than this node remembers (its state was lost): number the next one above it.
      const above = /not above the latest, (\d+)/.exec((err as Error).message);
      if (!above) throw err;
      next = Revision.fromSectors(id, Number(above[1]) + 1, leaves);
      answer = await host.revise(next.signAsRenter(this.ctx.identity.secretKey).encode().toString('hex'));
    }
    const back = Revision.decode(Buffer.from(answer, 'hex'));
    if (!back.signedBytes().equals(next.signedBytes()) || !back.verify(terms)) throw new Error('the host answered a commitment revision other than the one sent, or unsigned');
    const sorted = [...sectors].sort((x, y) => (x.id < y.id ? -1 : 1));
    await this.ctx.store.setCommitment(id, { revision: back.encode().toString('hex'), sectors: sorted });
    this.ctx.node.logger.info(`negotiator: contract ${shortId(id)}: commitment revision ${back.revision} (${back.sectorCount} sectors, ${back.totalBytes} bytes)`);
  }

  /** Logs `message` about a contract once, until it changes (null: nothing to say any more). */
  private _note(id: Buffer, message: string | null): void {
    const hex = id.toString('hex');
    if (this.notes.get(hex) === (message ?? undefined)) return;
    if (message === null) this.notes.delete(hex);
    else {
      this.notes.set(hex, message);
      this.ctx.node.logger.warning(`negotiator: contract ${shortId(id)}: ${message}`);
    }
  }

  /**
   * Window w's challenge against the latest commitment, and one of its
   * sectors fetched whole: true if both hold. With nothing committed the
   * host need only answer.
   */
  private async _challenge(e: ContractEntry, host: HostStorage, w: number): Promise<boolean> {
    const id = e.record.id();
    const opening = await this.ctx.node.chain.getEntryByHeight(this.ctx.windowsOf(e).opensAt(w));
    if (!opening) throw new Error(`no block at the opening of window ${w}`);
    const sectors = (await this.ctx.store.commitment(id))?.sectors ?? [];
    const hash = typeof opening.hash === 'string' ? Buffer.from(opening.hash, 'hex') : opening.hash;
    const c = challengeOf(hash, id, w, sectors);
    if (c.kind === 'liveness') {
      await host.list();
      return true;
    }
    const rootOf = new Map(sectors.map((s) => [s.id, s]));
    const proof = await host.proof(c.sectorId, c.segmentIndex);
    if (proof.sectorSize !== c.sectorSize || proof.segmentIndex !== c.segmentIndex) return false;
    if (!verifyMerkleProof(Buffer.from(rootOf.get(c.sectorId)!.root, 'hex'), proof)) return false;
    const whole = sectors[randomInt(sectors.length)];
    const bytes = await host.get(whole.id);
    return bytes.length === whole.size && Buffer.from(merkleRoot(bytes)).equals(Buffer.from(whole.root, 'hex'));
  }
}
