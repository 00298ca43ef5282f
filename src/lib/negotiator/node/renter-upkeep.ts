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
 *    whose server has not carried by the old contract's end, is replaced
 *    by the best other host (host-choice.ts); its shards are left to repair.
 * 3. Choice: while fewer than `hosts` hosts (removed ones not counted) hold
 *    a live contract, the best offers are contracted.
 *
 * The old contract's fulfilment (windows, payments, settlement) runs to its
 * end as for any other. What became of each contract is kept in the
 * fulfilment store (n and o records), which `contract list` shows as
 * renewedFrom / renewedTo.
 */
import { createHash } from 'node:crypto';
import { daemonRenterPolicy, type RenterPolicy } from '../../config/renter-policy.js';
import type { KeyPair } from '../../crypto/sig.js';
import { chooseHosts, policyRequest, unfitReason, allowanceSpent, type HostMarket, type MarketContract } from '../../renter/host-choice.js';
import { removedHosts } from '../../renter/removed-hosts.js';
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
      try {
        let r = await this.p.store.renewal(Buffer.from(c.id, 'hex'));
        if (r === null && c.state === 'active' && c.endHeight - tip <= policy.renewWindow) r = await this._renew(c, policy);
        // Carried again until the old contract is settled: a push may still have gone to it.
        else if ((r?.state === 'negotiated' || r?.state === 'carried') && (c.state === 'active' || c.state === 'expired')) r = await this._carry(c, r, policy, tip);
        if (r?.state === 'replaced') replaced.add(c.hostKey);
      } catch (err) {
        this.p.node.logger.warning(`negotiator: renewal of contract ${c.id.slice(0, 16)}: ${(err as Error).message}`);
      }
    }
    const exclude = new Set([...removed, ...replaced]);
    const chosen = await chooseHosts(this.p.market, policy, { exclude, datadir: this.p.datadir });
    for (const h of chosen.contracted) this.p.node.logger.info(`negotiator: contracted host ${h.hostKey.slice(0, 16)} (contract ${h.contractId.slice(0, 16)}, score ${h.score.toFixed(2)})`);
  }

  /** A new contract with the same host at its current offer, or another host's; null when neither could be had now (tried again next round). */
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
    if (out.error?.code === 'EFUNDS' || out.error?.code === 'ELOCKED') {
      this.p.node.logger.warning(`negotiator: cannot renew contract ${c.id.slice(0, 16)}: ${out.error.message}`);
      return null;
    }
    return this._replace(c, policy, out.error?.message ?? (out.outcome === 'refused' ? `the ${out.refusedBy} refused: ${out.reason}` : 'the host did not answer'));
  }

  /**
   * Once the new contract is active, has the host carry the old one's
   * sectors over and adds the old one's sector set to the new one's; again
   * whenever the old set changes (a store command that still went to the
   * old contract). A host that has not carried them by the old
   * contract's end is replaced; until then it is asked again each round.
   */
  private async _carry(c: MarketContract, r: RenewalState, policy: RenterPolicy, tip: number): Promise<RenewalState | null> {
    const to = Buffer.from(r.to!, 'hex');
    const entry = await this.p.registry.getContract(to);
    // Not in the block that funds it: the host's node may not know the contract yet, and its file server would remember the refusal a while.
    if (entry === null || entry.stateAt(tip) !== 'active' || tip <= entry.height) return r;
    const oldSet = (await this.p.store.expectedSectors(Buffer.from(c.id, 'hex'))) ?? [];
    const carriedSet = createHash('sha256').update(oldSet.join(',')).digest('hex');
    if (r.state === 'carried' && r.carriedSet === carriedSet) return r;
    const newSet = new Set((await this.p.store.expectedSectors(to)) ?? []);
    const url = (await this.p.market.offers()).find((o) => o.hostKey === c.hostKey && o.url)?.url ?? (await this.p.store.hostUrl(Buffer.from(c.hostKey, 'hex')));
    if (!url) return r;
    try {
      const carried = await this.p.carrier(url, r.to!).carry(c.id);
      await this.p.setExpected(r.to!, [...new Set([...newSet, ...oldSet])]);
      const done: RenewalState = { ...r, state: 'carried', carriedSet };
      await this.p.store.setRenewal(Buffer.from(c.id, 'hex'), done);
      this.p.node.logger.info(`negotiator: host ${c.hostKey.slice(0, 16)} carried ${carried.sectors} sectors from ${c.id.slice(0, 16)} to ${r.to!.slice(0, 16)}`);
      return done;
    } catch (err) {
      // Before the old contract's end a refusal may be passing (the host's node a block behind): ask again next round.
      if (r.state === 'negotiated' && tip >= c.endHeight) return this._replace(c, policy, `the host did not carry the sectors over: ${(err as Error).message}`);
      throw err;
    }
  }

  /**
   * Contracts the best other host in place of `c`'s, whose shards are left to
   * repair; null when none could be, so the renewal is tried again next round.
   */
  private async _replace(c: MarketContract, policy: RenterPolicy, reason: string): Promise<RenewalState | null> {
    const exclude = new Set([...(await removedHosts(this.p.datadir)), c.hostKey]);
    const chosen = await chooseHosts(this.p.market, policy, { want: 1, exclude, datadir: this.p.datadir });
    if (chosen.contracted.length === 0) {
      this.p.node.logger.warning(`negotiator: contract ${c.id.slice(0, 16)} not renewed (${reason}) and no other host could be contracted`);
      return null;
    }
    const r: RenewalState = { state: 'replaced', hostKey: c.hostKey, to: chosen.contracted[0].contractId, reason };
    await this.p.store.setRenewal(Buffer.from(c.id, 'hex'), r);
    this.p.node.logger.warning(`negotiator: host ${c.hostKey.slice(0, 16)} of contract ${c.id.slice(0, 16)} replaced by contract ${r.to!.slice(0, 16)} (${reason})`);
    return r;
  }
}
