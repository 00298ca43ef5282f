/**
 * The file server's one question to the outside world: "is this contract
 * live, and whose key may write to it?". A ContractAuthority answers it; the
 * Negotiator (local or remote, see authority-http.ts) is the real one, and
 * caching is a wrapper (authority-cache.ts), as restic layers its backends.
 */
import { CloudCoinError } from '../errors.js';
import { checkId, isId, isPubkeyHex } from './ids.js';

/** The Negotiator's contract states (src/lib/negotiator/entries.ts); only `active` is served. */
export type ServedContractState = 'negotiating' | 'funded' | 'active' | 'expired' | 'settled';
const STATES: readonly ServedContractState[] = ['negotiating', 'funded', 'active', 'expired', 'settled'];

/** A contract as the file server needs it. */
export interface ServedContract {
  /** 64 hex. */
  contractId: string;
  /** The renter's compressed secp256k1 key, 66 hex: the only key that may sign requests. */
  renterKey: string;
  /** The host's key, 66 hex; a server started with a host key serves only its own contracts. */
  hostKey?: string;
  /** Bytes the renter bought; the contract's usage never exceeds it. */
  sizeBytes: number;
  state: ServedContractState;
  /** Block height at which the contract ends: from there on nothing is written. */
  expiresAtHeight?: number;
  /** Block height from which the renter may take its payment back: reads are served until then. */
  refundHeight?: number;
  /** The Negotiator's chain tip when it answered; with refundHeight, what tells an expired contract's reads apart from none. */
  tipHeight?: number;
  /** Unix time in seconds after which the server refuses the contract even if `state` is stale. */
  expiresAtTime?: number;
}

/**
 * What the file server asks its Negotiator beyond lookups: to countersign a
 * renter's commitment revision (POST ext/negotiator/contracts/<id>/revisions).
 */
export interface RevisionSigner {
  /** The revision with both signatures, hex; throws NegotiatorRefusedError or AuthorityUnavailableError. */
  countersign(contractId: string, revisionHex: string): Promise<string>;
}

/** The Negotiator answered, and said no: its message is the renter's to read. */
export class NegotiatorRefusedError extends CloudCoinError {
  constructor(
    message: string,
    /** The Negotiator's HTTP status. */
    readonly status: number,
  ) {
    super('negotiator-refused', message);
    this.name = 'NegotiatorRefusedError';
  }
}

export interface ContractAuthority {
  /**
   * The contract with this id, or null if the authority does not know it.
   * Throws AuthorityUnavailableError when the authority cannot be asked
   * (network, time-out, bad answer); never returns a record for another id.
   */
  lookup(contractId: string): Promise<ServedContract | null>;
}

export class AuthorityUnavailableError extends CloudCoinError {
  constructor(message: string) {
    super('authority-unavailable', message);
    this.name = 'AuthorityUnavailableError';
  }
}

/**
 * Reads the Negotiator's JSON answer — its ContractInfo (src/lib/negotiator/entries.ts):
 * `id`, `state`, `renterKey`, `size` required, `hostKey`, `endHeight`, `refundHeight`
 * and `tipHeight` optional, other fields ignored — into a ServedContract. Throws a RangeError or TypeError
 * naming the first bad field.
 */
export function parseServedContract(value: unknown, expectedId: string): ServedContract {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError('contract record must be a JSON object');
  const v = value as Record<string, unknown>;
  if (!isId(v.id)) throw new RangeError('id must be 64 lowercase hex characters');
  if (v.id !== checkId(expectedId, 'expectedId')) throw new RangeError(`asked for contract ${expectedId}, got ${v.id}`);
  if (!isPubkeyHex(v.renterKey)) throw new RangeError('renterKey must be a 66-hex compressed public key');
  if (v.hostKey !== undefined && v.hostKey !== null && !isPubkeyHex(v.hostKey)) throw new RangeError('hostKey must be a 66-hex compressed public key');
  if (!Number.isSafeInteger(v.size) || (v.size as number) < 0) throw new RangeError('size must be a non-negative integer');
  if (!STATES.includes(v.state as ServedContractState)) throw new RangeError(`state must be one of ${STATES.join(', ')}`);
  const record: ServedContract = { contractId: v.id, renterKey: v.renterKey, sizeBytes: v.size as number, state: v.state as ServedContractState };
  if (typeof v.hostKey === 'string') record.hostKey = v.hostKey;
  const endHeight = _height(v.endHeight, 'endHeight');
  if (endHeight !== undefined) record.expiresAtHeight = endHeight;
  const refundHeight = _height(v.refundHeight, 'refundHeight');
  if (refundHeight !== undefined) record.refundHeight = refundHeight;
  const tipHeight = _height(v.tipHeight, 'tipHeight');
  if (tipHeight !== undefined) record.tipHeight = tipHeight;
  return record;
}

function _height(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw new RangeError(`${what} must be a non-negative integer`);
  return v as number;
}

/** What a request does to a contract's data: reads stay allowed after its end, until its refund height. */
export type Access = 'read' | 'write';

/**
 * Why a contract may not be used now for `access`, or null if it may: an
 * `active` contract for everything; an `expired` one, whose renter may still
 * check and fetch what it paid for, for reads until its refundHeight.
 */
export function notLiveReason(c: ServedContract, access: Access = 'write', nowMs = Date.now()): { code: 'contract-ended' | 'contract-not-live'; message: string } | null {
  if (c.expiresAtTime !== undefined && c.expiresAtTime * 1000 <= nowMs) return { code: 'contract-not-live', message: 'contract has expired' };
  if (c.state === 'active') return null;
  if (c.state !== 'expired') return { code: 'contract-not-live', message: `contract is ${c.state}` };
  if (access === 'write') return { code: 'contract-ended', message: 'contract has ended: its data is read-only until its refund height' };
  if (c.refundHeight !== undefined && c.tipHeight !== undefined && c.tipHeight < c.refundHeight) return null;
  return { code: 'contract-not-live', message: 'contract has ended and passed its refund height' };
}
