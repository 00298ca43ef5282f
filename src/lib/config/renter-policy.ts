/**
 * The renter policy: how many hosts the renter keeps contracted, how much of
 * each sector they must hold (k-of-n), what it pays, and when it renews and
 * repairs. One object under the key "renter" of the data directory's
 * config.json; every field is optional and falls back to the defaults below
 * (docs/store.md, "The renter policy", explains each choice).
 */
import { join } from 'node:path';
import { CloudCoinError, ExitCode } from '../errors.js';
import { CONFIG_FILE, readFileConfig } from './settings.js';

export interface RenterPolicy {
  /** Shards that rebuild a sector. */
  k: number;
  /** Shards per sector, each on its own host; a push with fewer hosts answering stores fewer (reduced redundancy). */
  n: number;
  /** Hosts kept under contract: more than n, so a host down still leaves n. */
  hosts: number;
  /** Base units the renter may lock in contract payments per `duration` blocks, over all hosts. */
  allowance: number;
  /** Highest price accepted, base units per GiB per month. */
  maxPrice: number;
  /** Least collateral accepted, base units per GiB per month. */
  minCollateral: number;
  /** Least reputation score a host needs to be chosen (hosts with no record score 0 and pass a 0 here). */
  minReputation: number;
  /** Bytes each contract is for. */
  contractSize: number;
  /** Blocks each contract lasts. */
  duration: number;
  /** Blocks before a contract's end when it is renewed or replaced. */
  renewWindow: number;
  /** Seconds a host may stay unreachable before its shards are rebuilt elsewhere. */
  repairAfter: number;
  /** Whether the renter's daemon contracts, renews and repairs on its own. */
  auto: boolean;
}

/**
 * 2-of-4 on 6 hosts: every sector survives two hosts lost (2x storage, Tahoe's
 * 3-of-10 trades more storage for more losses), and with two spare hosts one
 * host down still leaves four to push to at full redundancy. The rest: one
 * month's contracts of 1 GiB, renewed in their last week, within ten times
 * the devnet's price.
 */
export const DEFAULT_RENTER_POLICY: Readonly<RenterPolicy> = Object.freeze({
  k: 2,
  n: 4,
  hosts: 6,
  allowance: 100_000_000,
  maxPrice: 1_000_000,
  minCollateral: 0,
  minReputation: 0,
  contractSize: 2 ** 30,
  duration: 4320,
  renewWindow: 1008,
  repairAfter: 3600,
  auto: true,
});

const _INTEGER_FIELDS = ['k', 'n', 'hosts', 'allowance', 'maxPrice', 'minCollateral', 'contractSize', 'duration', 'renewWindow', 'repairAfter'] as const;

/**
 * The policy from a config.json's "renter" object (undefined: all defaults).
 * Throws CloudCoinError EBADCONFIG (exit 2) naming the first bad field.
 */
export function parseRenterPolicy(value: unknown, source = 'config.json'): RenterPolicy {
  if (value === undefined) return { ...DEFAULT_RENTER_POLICY };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CloudCoinError('EBADCONFIG', `${source}: "renter" must be an object`, ExitCode.usage);
  }
  const given = value as Record<string, unknown>;
  const known = new Set<string>([...Object.keys(DEFAULT_RENTER_POLICY)]);
  for (const key of Object.keys(given)) {
    if (!known.has(key)) throw new CloudCoinError('EBADCONFIG', `${source}: unknown renter policy field "${key}" (known: ${[...known].join(', ')})`, ExitCode.usage);
  }
  const policy: RenterPolicy = { ...DEFAULT_RENTER_POLICY };
  for (const key of _INTEGER_FIELDS) {
    const v = given[key];
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || (v as number) < 0) throw new CloudCoinError('EBADCONFIG', `${source}: renter.${key} must be a whole number >= 0, got ${JSON.stringify(v)}`, ExitCode.usage);
    policy[key] = v as number;
  }
  if (given.minReputation !== undefined) {
    if (typeof given.minReputation !== 'number' || !Number.isFinite(given.minReputation) || given.minReputation < 0) {
      throw new CloudCoinError('EBADCONFIG', `${source}: renter.minReputation must be a number >= 0, got ${JSON.stringify(given.minReputation)}`, ExitCode.usage);
    }
    policy.minReputation = given.minReputation;
  }
  if (given.auto !== undefined) {
    if (typeof given.auto !== 'boolean') throw new CloudCoinError('EBADCONFIG', `${source}: renter.auto must be true or false, got ${JSON.stringify(given.auto)}`, ExitCode.usage);
    policy.auto = given.auto;
  }
  if (policy.k < 1 || policy.k > policy.n) throw new CloudCoinError('EBADCONFIG', `${source}: renter.k must be 1..n (n = ${policy.n}), got ${policy.k}`, ExitCode.usage);
  if (policy.n > 255) throw new CloudCoinError('EBADCONFIG', `${source}: renter.n must be at most 255, got ${policy.n}`, ExitCode.usage);
  if (policy.duration < 1 || policy.contractSize < 1) throw new CloudCoinError('EBADCONFIG', `${source}: renter.duration and renter.contractSize must be at least 1`, ExitCode.usage);
  if (policy.renewWindow >= policy.duration) {
    // A window as long as the contract would renew every contract the moment it starts.
    throw new CloudCoinError('EBADCONFIG', `${source}: renter.renewWindow (${policy.renewWindow}) must be less than renter.duration (${policy.duration})`, ExitCode.usage);
  }
  return policy;
}

/**
 * The policy the renter's daemon acts on by itself: that of the data
 * directory's config.json, read anew each time so an edit needs no restart;
 * null when config.json names no "renter" policy or sets `auto: false`. A
 * node spends its wallet on new contracts only once its owner has written
 * down what it may spend (docs/store.md, "Renewal").
 */
export function daemonRenterPolicy(datadir: string): RenterPolicy | null {
  const config = readFileConfig(datadir);
  if (config.renter === undefined) return null;
  const policy = parseRenterPolicy(config.renter, join(datadir, CONFIG_FILE));
  return policy.auto ? policy : null;
}

/** The policy of `datadir`'s config.json, defaults where it says nothing, with `overrides` (a command's flags) on top. */
export function renterPolicyOf(datadir: string, overrides: Partial<RenterPolicy> = {}): RenterPolicy {
  const policy = parseRenterPolicy(readFileConfig(datadir).renter, join(datadir, CONFIG_FILE));
  for (const [key, value] of Object.entries(overrides) as [keyof RenterPolicy, never][]) if (value !== undefined) policy[key] = value;
  return policy;
}
