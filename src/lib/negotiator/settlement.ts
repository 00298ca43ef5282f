/**
 * Settlement transactions: how a contract's escrow is paid out in proportion
 * to the proof windows its host proved. Pure functions over bcoin
 * primitives; renter and host build the same bytes from the same contract,
 * funding transaction and revision, which is what lets each sign the
 * other's copy unseen.
 *
 * With P the payment, C the collateral, W windows and p of them proven:
 *
 *   PAY(p)    spends the payment output (2-of-2 branch)
 *             0 OP_RETURN outcome record (kind PAY), value 0
 *             1 host payout     floor(P·p/W)
 *             2 renter payout   P − floor(P·p/W)
 *   SPLIT(p)  spends the collateral output (2-of-2 branch)
 *             0 OP_RETURN outcome record (kind SPLIT), value C − floor(C·p/W): burned
 *             1 host payout     floor(C·p/W) − FEE
 *
 * SETTLEMENT_FEE comes out of PAY's larger payout (the host's on a tie) and
 * out of SPLIT's host payout; a payout left below MIN_PAYOUT is left out and
 * goes to the fee. A SPLIT whose host share cannot pay the fee takes the rest
 * of it from the burn, so every settlement pays at least SETTLEMENT_FEE (a
 * zero-fee transaction would not relay) unless the output holds less.
 *
 * Each comes in two variants, signed by the other party in advance:
 *
 *   host variant    locktime 0: the host may broadcast it at any time
 *   renter variant  locktime = refundHeight, sequence 0xfffffffe: minable only
 *                   after the refund height, so a host that is online always
 *                   gets its latest in first
 *
 * Payouts go to P2PKH of each party's identity key, which each node imports
 * into its wallet. docs/protocol.md §4.3 has the rules and who broadcasts what.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { PUBKEY_SIZE } from '../crypto/sig.js';
import { contractIdOf, type Terms } from '../net/terms.js';
import { Script, hashType, type BMTX, type BScript, type BTX } from '../chain/primitives.js';
import { cooperativeWitness, escrowScript, escrowValue, refundHeightOf, signEscrowInput, spendEscrow, type EscrowKind } from './escrow.js';
import { OutcomeKind, OutcomeRecord, type OutcomeKindValue } from './records.js';

const require = createRequire(import.meta.url);
const secp256k1: { isLowDER(sig: Buffer): boolean } = require('bcrypto/lib/secp256k1');

/** The fee every settlement pays, base units. */
export const SETTLEMENT_FEE = 2000;
/** A payout below this is left out (it would cost more to spend than it holds) and goes to the fee. */
export const MIN_PAYOUT = 1000;

export type SettlementKind = 'pay' | 'split';
/** Who may broadcast it: the host at once, the renter after the refund height. */
export type SettlementVariant = 'host' | 'renter';

/** What a payment revision says, and so what a settlement records. */
export interface SettlementState {
  /** Proof windows of the contract, W. */
  windows: number;
  proven: number;
  missed: number;
  /** The payment revision's sequence number. */
  seq: number;
}

/** Where a settlement's input goes, base units: the parts add up to the escrow output. */
export interface SettlementAmounts {
  /** To the host's payout output (0: left out). */
  hostPaid: number;
  /** To the renter's payout output (0: left out; always 0 in a SPLIT). */
  renterRefunded: number;
  /** Value of the OP_RETURN output (0 in a PAY). */
  burned: number;
  fee: number;
}

/** The escrow output a settlement kind spends. */
export function escrowKindOf(kind: SettlementKind): EscrowKind {
  return kind === 'pay' ? 'payment' : 'collateral';
}

export function outcomeKindOf(kind: SettlementKind): OutcomeKindValue {
  return kind === 'pay' ? OutcomeKind.PAY : OutcomeKind.SPLIT;
}

function _checkState(s: SettlementState): void {
  const u16 = (n: number) => Number.isInteger(n) && n >= 0 && n <= 0xffff;
  if (!u16(s.windows) || s.windows < 1) throw new RangeError(`windows must be 1..65535, got ${s.windows}`);
  if (!u16(s.proven) || !u16(s.missed) || s.proven + s.missed > s.windows) {
    throw new RangeError(`proven ${s.proven} + missed ${s.missed} must be u16s within ${s.windows} windows`);
  }
  if (!Number.isInteger(s.seq) || s.seq < 0 || s.seq > 0xffffffff) throw new RangeError(`seq must be a u32, got ${s.seq}`);
}

/** floor(value·p/W) without losing precision above 2^53. */
function _share(value: number, proven: number, windows: number): number {
  return Number((BigInt(value) * BigInt(proven)) / BigInt(windows));
}

function _payout(value: number): number {
  return value >= MIN_PAYOUT ? value : 0;
}

/** How PAY(p) divides payment `payment`. */
export function payAmounts(payment: number, windows: number, proven: number): SettlementAmounts {
  const host = _share(payment, proven, windows);
  const renter = payment - host;
  const hostPaid = _payout(host >= renter ? host - SETTLEMENT_FEE : host);
  const renterRefunded = _payout(host >= renter ? renter : renter - SETTLEMENT_FEE);
  return { hostPaid, renterRefunded, burned: 0, fee: payment - hostPaid - renterRefunded };
}

/** How SPLIT(p) divides collateral `collateral`. */
export function splitAmounts(collateral: number, windows: number, proven: number): SettlementAmounts {
  const share = _share(collateral, proven, windows);
  const hostPaid = _payout(share - SETTLEMENT_FEE);
  const fee = hostPaid > 0 ? SETTLEMENT_FEE : Math.min(collateral, Math.max(share, SETTLEMENT_FEE));
  return { hostPaid, renterRefunded: 0, burned: collateral - hostPaid - fee, fee };
}

export function settlementAmounts(kind: SettlementKind, terms: Terms, state: Pick<SettlementState, 'windows' | 'proven'>): SettlementAmounts {
  const value = escrowValue(terms, escrowKindOf(kind));
  return kind === 'pay' ? payAmounts(value, state.windows, state.proven) : splitAmounts(value, state.windows, state.proven);
}

/** hash160 (RIPEMD-160 of SHA-256), Bitcoin's key hash. */
function _hash160(data: Uint8Array): Buffer {
  return createHash('ripemd160').update(createHash('sha256').update(data).digest()).digest();
}

/** The output script that pays a party: P2PKH of its 33-byte identity key. */
export function payoutScript(key: Uint8Array): BScript {
  if (!(key instanceof Uint8Array) || key.length !== PUBKEY_SIZE) throw new TypeError('key must be a 33-byte public key');
  return Script.fromPubkeyhash(_hash160(key));
}

/** The outcome record a settlement of this kind and state carries. */
export function outcomeOf(kind: SettlementKind, terms: Terms, state: SettlementState): OutcomeRecord {
  return new OutcomeRecord({ contractId: contractIdOf(terms), kind: outcomeKindOf(kind), ...state });
}

/**
 * The outputs of a settlement, in order. The registry compares a spend
 * against these to accept its outcome, so they are the whole definition.
 */
export function settlementOutputs(kind: SettlementKind, terms: Terms, state: SettlementState): { script: BScript; value: number }[] {
  _checkState(state);
  const a = settlementAmounts(kind, terms, state);
  const out = [{ script: Script.fromNulldata(outcomeOf(kind, terms, state).encode()), value: a.burned }];
  if (a.hostPaid > 0) out.push({ script: payoutScript(terms.hostKey), value: a.hostPaid });
  if (a.renterRefunded > 0) out.push({ script: payoutScript(terms.renterKey), value: a.renterRefunded });
  return out;
}

/** PAY(p) or SPLIT(p) of a contract, unsigned, in one variant. */
export function buildSettlement(kind: SettlementKind, variant: SettlementVariant, fundingTx: BTX, terms: Terms, state: SettlementState): BMTX {
  const locktime = variant === 'renter' ? refundHeightOf(terms) : 0;
  return spendEscrow(fundingTx, terms, [escrowKindOf(kind)], settlementOutputs(kind, terms, state), locktime);
}

/** One party's escrow signature of a settlement (its only input). */
export function signSettlement(mtx: BMTX, kind: SettlementKind, terms: Terms, secretKey: Uint8Array): Buffer {
  return signEscrowInput(mtx, 0, terms, escrowKindOf(kind), secretKey);
}

/**
 * True if `sig` is `key`'s escrow signature of exactly this settlement:
 * SIGHASH_ALL, low-S (standard), over this variant, p and seq.
 */
export function verifySettlementSig(mtx: BMTX, kind: SettlementKind, terms: Terms, sig: Uint8Array, key: Uint8Array): boolean {
  const s = Buffer.from(sig);
  if (s.length < 9 || s.length > 73 || s[s.length - 1] !== hashType.ALL) return false;
  if (!secp256k1.isLowDER(s.subarray(0, -1))) return false;
  const escrow = escrowKindOf(kind);
  try {
    return mtx.checksig(0, escrowScript(terms, escrow), escrowValue(terms, escrow), s, Buffer.from(key), 1);
  } catch {
    return false;
  }
}

/** The settlement with both signatures in its 2-of-2 witness, ready to broadcast. */
export function completeSettlement(mtx: BMTX, kind: SettlementKind, terms: Terms, renterSig: Uint8Array, hostSig: Uint8Array): BTX {
  cooperativeWitness(mtx, 0, terms, escrowKindOf(kind), renterSig, hostSig);
  return mtx.toTX();
}
