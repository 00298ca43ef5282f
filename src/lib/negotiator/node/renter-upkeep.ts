/**
 * The renter's daemon keeping its hosts contracted (docs/store.md,
 * "Renewal"), on the policy of its data directory's config.json (and only
 * when there is one, see daemonRenterPolicy). Each round:
 *
 * 1. Renewal: each of its active contracts within `renewWindow` blocks of
 *    its end, whose host is not removed, is renewed with the same host at
 *    its current offer for `duration` blocks. Once the new contract is active
 *    on chain the host's file server carries the old contract's sectors over
 *    to it (POST /v1/contracts/<new>/carry, hard links: nothing is uploaded
 *    again), and the new contract expects the old one's sector set. The
 *    store then uses the new contract (the newest with a host) under the
 *    same backend name, so every shard placement stays valid.
 * 2. Replacement: a host without an offer that fits, or that refuses, or
 *    whose server will not carry before the old contract ends, is replaced
 *    by the best other host (host-choice.ts); its shards are left to repair.
 * 3. Choice: while fewer than `hosts` hosts (removed ones not counted) hold
 *    a live contract, the best offers are contracted.
 *
 * The old contract's fulfilment (windows, payments, settlement) runs to its
 * end as for any other. What became of each contract is kept in the
 * fulfilment store (n and o records), which `contract list` shows as
 * renewedFrom / renewedTo.
 */
import { daemonRenterPolicy, type RenterPolicy } from '../../config/renter-policy.js';
import type { KeyPair } from '../../crypto/sig.js';
import { chooseHosts, policyRequest, unfitReason, allowanceSpent, type HostMarket, type MarketContract } from '../../renter/host-choice.js';
import { removedHosts } from '../../renter/removed-hosts.js';
import { FileServerError } from '../../server/file-server-client.js';
import type { Registry } from '../registry.js';
import type { NodeAdapter } from './adapter.js';
import type { FulfilmentStep } from './fulfilment-loop.js';
import type { FulfilmentStore, RenewalState } from './fulfilment-store.js';

/** What the step asks of a host's file server. */
export type CarryClientFactory = (url: string, contractId: string) => { carry(from: string): Promise<{ sectors: number; bytes: number }> };

export interface RenterUpkeepParts {
  node: NodeAdapter;
  identity: KeyPair;
  registry: Registry;
  synced(): Promise<void>;
  store: FulfilmentStore;
  market: HostMarket;
  carrier: CarryClientFactory;
  /** Tells the renter's fulfilment a contract's expected sector set changed. */
  setExpected(contractId: string, ids: string[]): Promise<void>;
  datadir: string;
}

export class RenterUpkeep implements FulfilmentStep {
  readonly name = 'renewal';

  constructor(private readonly p: RenterUpkeepParts) {}

  async run(): Promise<void> {
    const policy = daemonRenterPolicy(this.p.datadir);
    if (policy === null) return;
    await this.p.synced();
    const tip = this.p.registry.getTip()?.height ?? 0;
    const removed = await removedHosts(this.p.datadir);
    const replaced = new Set<string>();
    for (const c of await this.p.market.contracts()) {
      if (removed.has(c.hostKey)) continue;
      let r = await this.p.store.renewal(Buffer.from(c.id, 'hex'));
      if (r === null && c.state === 'active' && c.endHeight - tip <= policy.renewWindow) r = await this._renew(c, policy);
      // Carried again until the old contract is settled: a push may still have gone to it.
      else if ((r?.state === 'negotiated' || r?.state === 'carried') && (c.state === 'active' || c.state === 'expired')) r = await this._carry(c, r, policy, tip);
      if (r?.state === 'replaced') replaced.add(c.hostKey);
    }
    const exclude = new Set([...removed, ...replaced]);
    const chosen = await chooseHosts(this.p.market, policy, { exclude });
    for (const h of chosen.contracted) this.p.node.logger.info(`negotiator: contracted host ${h.hostKey.slice(0, 16)} (contract ${h.contractId.slice(0, 16)}, score ${h.score.toFixed(2)})`);
  }

  /** A new contract with the same host at its current offer; null when the wallet cannot fund it now (tried again next round). */
  private async _renew(c: MarketContract, policy: RenterPolicy): Promise<RenewalState | null> {
    const offers = (await this.p.market.offers()).filter((o) => o.hostKey === c.hostKey && !o.mine);
    const offer = offers.reduce<(typeof offers)[number] | null>((a, b) => (a === null || b.sequence > a.sequence ? b : a), null);
    if (offer === null) return this._replace(c, policy, 'the host has no offer');
    const contracts = await this.p.market.contracts();
    const why = unfitReason(offer, policy, policy.allowance - allowanceSpent(contracts));
    if (why) return this._replace(c, policy, `its offer does not fit the policy: ${why}`);
    const out = await this.p.market.negotiate({ ...policyRequest(offer.hash, policy), size: Math.max(policy.contractSize, c.size) });
    if (out.outcome === 'funded') {
      const r: RenewalState = { state: 'negotiated', hostKey: c.hostKey, to: out.negotiation.contractId, reason: null };
      await this.p.store.setRenewal(Buffer.from(c.id, 'hex'), r);
      this.p.node.logger.info(`negotiator: contract ${c.id.slice(0, 16)} renewed as ${r.to!.slice(0, 16)}`);
      return r;
    }
    if (out.error?.code === 'EFUNDS') {
      this.p.node.logger.warning(`negotiator: cannot renew contract ${c.id.slice(0, 16)}: ${out.error.message}`);
      return null;
    }
    return this._replace(c, policy, out.error?.message ?? (out.outcome === 'refused' ? `the ${out.refusedBy} refused: ${out.reason}` : 'the host did not answer'));
  }

  /**
   * Once the new contract is active, has the host carry the old one's
   * sectors over and gives the new one the old one's sector set; again
   * whenever the old set has sectors the new one lacks (a push that still
   * went to the old contract). A first refusal replaces the host; a server
   * that does not answer is asked again next round, and one that never does
   * leaves the new contract empty, for repair to fill.
   */
  private async _carry(c: MarketContract, r: RenewalState, policy: RenterPolicy, tip: number): Promise<RenewalState> {
    const to = Buffer.from(r.to!, 'hex');
    const entry = await this.p.registry.getContract(to);
    if (entry === null || entry.stateAt(tip) !== 'active') return r;
    const oldSet = (await this.p.store.expectedSectors(Buffer.from(c.id, 'hex'))) ?? [];
    const newSet = new Set((await this.p.store.expectedSectors(to)) ?? []);
    if (r.state === 'carried' && oldSet.every((s) => newSet.has(s))) return r;
    const url = (await this.p.market.offers()).find((o) => o.hostKey === c.hostKey && o.url)?.url ?? (await this.p.store.hostUrl(Buffer.from(c.hostKey, 'hex')));
    if (!url) return r;
    try {
      const carried = await this.p.carrier(url, r.to!).carry(c.id);
      await this.p.setExpected(r.to!, [...new Set([...newSet, ...oldSet])]);
      const done: RenewalState = { ...r, state: 'carried' };
      await this.p.store.setRenewal(Buffer.from(c.id, 'hex'), done);
      this.p.node.logger.info(`negotiator: host ${c.hostKey.slice(0, 16)} carried ${carried.sectors} sectors from ${c.id.slice(0, 16)} to ${r.to!.slice(0, 16)}`);
      return done;
    } catch (err) {
      if (err instanceof FileServerError && err.status !== null && err.status >= 400 && err.status < 500 && err.status !== 429 && r.state === 'negotiated') {
        return this._replace(c, policy, `the host refused to carry the sectors over: ${err.message}`);
      }
      throw err;
    }
  }

  /** Contracts the best other host in place of `c`'s; its shards are left to repair. */
  private async _replace(c: MarketContract, policy: RenterPolicy, reason: string): Promise<RenewalState> {
    const exclude = new Set([...(await removedHosts(this.p.datadir)), c.hostKey]);
    const chosen = await chooseHosts(this.p.market, policy, { want: 1, exclude });
    const r: RenewalState = { state: 'replaced', hostKey: c.hostKey, to: chosen.contracted[0]?.contractId ?? null, reason };
    await this.p.store.setRenewal(Buffer.from(c.id, 'hex'), r);
    this.p.node.logger.warning(`negotiator: host ${c.hostKey.slice(0, 16)} of contract ${c.id.slice(0, 16)} replaced (${reason})${r.to ? ` by contract ${r.to.slice(0, 16)}` : ', no other host could be contracted'}`);
    return r;
  }
}
