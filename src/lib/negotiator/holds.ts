/**
 * What a host's negotiations hold before their contract is on chain, and for
 * how long. A renter's propose costs it nothing, so nothing it makes the host
 * set aside may outlast a short hold unless the renter backs it with coins
 * that exist:
 *
 * - capacity and a contract slot, from the host's accept or counter until
 *   the hold ends (DEFAULT_HOLD seconds), unless the renter's ccfund arrived
 *   in time and the host cosigned;
 * - after the host cosigned, the same and the host's share of coins, for
 *   another hold, then only while the funding transaction is out (the
 *   renter's coins are spent in the mempool or the chain); a renter that
 *   never broadcasts gets its negotiation lapsed and the host's coins back;
 * - the renter's coins in a ccfund are claimed by one negotiation at a time,
 *   and must be unspent outputs of the chain or the mempool with the value
 *   and script the renter says, before the host reserves or signs anything.
 */
import type { FundingCoin } from '../net/funding.js';
import type { Negotiation } from './negotiation.js';

/** Seconds an unfunded reservation lasts: an honest renter funds within a second of the accept. */
export const DEFAULT_HOLD = 60;

/** Whether a coin is an unspent output (chain or mempool) with this value and script. */
export type UnspentCheck = (coin: FundingCoin) => Promise<boolean>;

function _outpoint(c: FundingCoin): string {
  return `${Buffer.from(c.hash).toString('hex')}:${c.index}`;
}

export class HostHolds {
  /** nid hex → end of the current hold. */
  private readonly until = new Map<string, number>();
  /** nid hex → the renter coins its ccfund listed. */
  private readonly coinsOf = new Map<string, FundingCoin[]>();
  /** outpoint → the nid hex that claimed it. */
  private readonly claimed = new Map<string, string>();
  /** Cosigned negotiations whose funding never went out: they hold nothing any more. */
  private readonly lapsed = new Set<string>();

  constructor(readonly seconds: number, private readonly unspent: UnspentCheck | null) {
    if (!Number.isInteger(seconds) || seconds < 1) throw new RangeError(`hold must be a positive number of seconds, got ${seconds}`);
  }

  /** Starts (or restarts) the hold of a negotiation at `now`. */
  start(hex: string, now: number): void {
    this.until.set(hex, now + this.seconds);
  }

  /** Whether the current hold of a negotiation runs at `now`. */
  running(hex: string, now: number): boolean {
    return now <= (this.until.get(hex) ?? -1);
  }

  /**
   * Claims the renter's coins of a ccfund for `hex` and checks them. Returns
   * what is wrong (and claims nothing), or null. The claim is made before
   * the lookups, so two ccfunds listing one coin cannot both pass.
   */
  async claim(hex: string, coins: FundingCoin[]): Promise<string | null> {
    const keys = coins.map(_outpoint);
    const taken = keys.find((k) => this.claimed.has(k) && this.claimed.get(k) !== hex);
    if (taken) return `coin ${taken} is already in another negotiation's funding`;
    for (const k of keys) this.claimed.set(k, hex);
    this.coinsOf.set(hex, coins);
    if (!this.unspent) return null;
    const found = await Promise.all(coins.map((c) => this.unspent!(c)));
    const missing = found.indexOf(false);
    if (missing < 0) return null;
    this.forget(hex);
    return `coin ${keys[missing]} is not an unspent output of this value and script`;
  }

  /**
   * Whether a host negotiation holds capacity at `now`: an unfunded one
   * while its hold runs; a cosigned one while its hold runs or its funding
   * is out (without a UTXO set to ask, until it is forgotten).
   */
  async holds(n: Negotiation, now: number): Promise<boolean> {
    const hex = n.nid.toString('hex');
    if (n.state === 'refused' || n.state === 'proposed' || this.lapsed.has(hex)) return false;
    if (this.running(hex, now)) return true;
    if (n.state !== 'funded') return false;
    return !(await this.neverBroadcast(hex));
  }

  /** A cosigned negotiation whose renter coins are all still unspent: its funding is not out. */
  async neverBroadcast(hex: string): Promise<boolean> {
    const coins = this.coinsOf.get(hex);
    if (!this.unspent || !coins) return false;
    return (await Promise.all(coins.map((c) => this.unspent!(c)))).every(Boolean);
  }

  /** Ends what a cosigned negotiation holds: its funding never went out (neverBroadcast) and its hold is over. */
  lapse(hex: string): void {
    this.forget(hex);
    this.lapsed.add(hex);
  }

  /** Drops everything kept for a negotiation. */
  forget(hex: string): void {
    this.until.delete(hex);
    this.lapsed.delete(hex);
    for (const c of this.coinsOf.get(hex) ?? []) {
      const k = _outpoint(c);
      if (this.claimed.get(k) === hex) this.claimed.delete(k);
    }
    this.coinsOf.delete(hex);
  }
}
