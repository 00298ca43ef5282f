/**
 * The escrow: how a contract's money is locked on chain, and every way it
 * can be released.
 *
 * The funding transaction has two escrow outputs, both P2WSH:
 *
 *   payment    (the renter's coins)   value = paymentOf(terms)
 *   collateral (the host's coins)     value = collateralOf(terms)
 *
 * with the same script shape, differing only in the refund key:
 *
 *   OP_IF
 *     OP_2 <renterKey> <hostKey> OP_2 OP_CHECKMULTISIG
 *   OP_ELSE
 *     <ownerHeight> OP_CHECKLOCKTIMEVERIFY OP_DROP <ownerKey> OP_CHECKSIG
 *   OP_ENDIF
 *
 * ownerKey is the renter's for the payment output and the host's for the
 * collateral output. ownerHeight is the refund height (the contract's end
 * plus REFUND_DELAY) for the payment, and COLLATERAL_DELAY later for the
 * collateral: the renter's settlements (settlement.ts) are time-locked to the
 * refund height, so a renter whose host missed windows has a whole delay to
 * get its SPLIT mined before the host could take its collateral back alone.
 * So the only path a party can take alone returns its own contribution, and
 * only after the contract is over: neither can ever take the other's coins
 * without the other's signature. Everything else (paying the host, burning
 * the collateral of missed windows) is the 2-of-2 branch, any split both
 * sign. docs/protocol.md lists the paths.
 *
 * Two outputs rather than one with pre-signed refunds: the unilateral paths
 * then live in script, so no refund transaction has to be signed (and kept)
 * before funding, and funding inputs need not be segwit for a stable txid.
 */
import { createHash } from 'node:crypto';
import { PUBKEY_SIZE, SECRET_SIZE } from '../crypto/sig.js';
import type { FundingCoin, FundingPart } from '../net/funding.js';
import { collateralOf, endHeightOf, paymentOf, type Terms } from '../net/terms.js';
import {
  Coin, MTX, Script, hashType, opcodes, type BCoin, type BInput, type BMTX, type BScript, type BTX,
} from '../chain/primitives.js';
import type { ContractRecord } from './records.js';

/** Blocks after the contract's end before either party can take back its own coins alone. */
export const REFUND_DELAY = 144;
/** Blocks after the refund height before the host can take back its collateral alone. */
export const COLLATERAL_DELAY = 144;
/** Smallest escrow output: below it an output costs more to spend than it holds. */
export const MIN_ESCROW_VALUE = 1000;

/** Output positions in the funding transaction; fixed so the indexer can check them. */
export const FundingOutput = { RECORD: 0, PAYMENT: 1, COLLATERAL: 2 } as const;

export type EscrowKind = 'payment' | 'collateral';

export function refundHeightOf(terms: Terms): number {
  return endHeightOf(terms) + REFUND_DELAY;
}

/** The height from which the owner of an escrow output may take it back alone. */
export function ownerRefundHeight(terms: Terms, kind: EscrowKind): number {
  return refundHeightOf(terms) + (kind === 'collateral' ? COLLATERAL_DELAY : 0);
}

function _key(key: Uint8Array, what: string): Buffer {
  if (!(key instanceof Uint8Array) || key.length !== PUBKEY_SIZE) throw new TypeError(`${what} must be a 33-byte public key`);
  return Buffer.from(key);
}

/** The witness script of one escrow output. */
export function escrowScript(terms: Terms, kind: EscrowKind): BScript {
  const owner = kind === 'payment' ? terms.renterKey : terms.hostKey;
  const s = new Script();
  s.pushOp(opcodes.OP_IF);
  s.pushOp(opcodes.OP_2).pushData(_key(terms.renterKey, 'renterKey')).pushData(_key(terms.hostKey, 'hostKey'));
  s.pushOp(opcodes.OP_2).pushOp(opcodes.OP_CHECKMULTISIG);
  s.pushOp(opcodes.OP_ELSE);
  s.pushInt(ownerRefundHeight(terms, kind)).pushOp(opcodes.OP_CHECKLOCKTIMEVERIFY).pushOp(opcodes.OP_DROP);
  s.pushData(_key(owner, 'ownerKey')).pushOp(opcodes.OP_CHECKSIG);
  s.pushOp(opcodes.OP_ENDIF);
  return s.compile();
}

/** The P2WSH output script paying to an escrow script. */
export function escrowOutputScript(terms: Terms, kind: EscrowKind): BScript {
  const hash = createHash('sha256').update(escrowScript(terms, kind).toRaw()).digest();
  return Script.fromProgram(0, hash);
}

export function escrowValue(terms: Terms, kind: EscrowKind): number {
  return kind === 'payment' ? paymentOf(terms) : collateralOf(terms);
}

/** Each party's share of the funding fee: the renter pays the odd unit. */
export function feeShares(fee: number): { renter: number; host: number } {
  const host = Math.floor(fee / 2);
  return { renter: fee - host, host };
}

function _sum(coins: FundingCoin[]): number {
  return coins.reduce((n, c) => n + c.value, 0);
}

/**
 * Checks that a party's share adds up: its coins pay exactly its escrow
 * amount, its fee share and its change. Returns a reason or null.
 */
export function checkShare(terms: Terms, kind: EscrowKind, part: FundingPart, fee: number): string | null {
  const owed = escrowValue(terms, kind) + feeShares(fee)[kind === 'payment' ? 'renter' : 'host'];
  const paid = _sum(part.coins) - part.changeValue;
  if (paid !== owed) return `${kind === 'payment' ? 'renter' : 'host'} share pays ${paid}, owes ${owed}`;
  return null;
}

/** True if the two shares spend a coin in common (the transaction would be invalid). */
export function sharesOverlap(a: FundingPart, b: FundingPart): boolean {
  const key = (c: FundingCoin) => `${Buffer.from(c.hash).toString('hex')}:${c.index}`;
  const seen = new Set(a.coins.map(key));
  return b.coins.some((c) => seen.has(key(c)));
}

export interface FundingPlan {
  record: ContractRecord;
  renter: FundingPart;
  host: FundingPart;
  fee: number;
}

/**
 * The funding transaction, unsigned, built identically by both parties:
 *
 *   inputs:  the renter's coins in its order, then the host's
 *   outputs: 0 OP_RETURN contract record
 *            1 payment escrow      (renter's money)
 *            2 collateral escrow   (host's money)
 *            3 renter change, if any
 *            4 host change, if any
 *   version 2, locktime 0, every sequence 0xffffffff
 *
 * The coins are added to the MTX's view so it can be signed and verified.
 * Throws RangeError if a share does not add up or an escrow output is dust.
 */
export function assembleFunding(plan: FundingPlan): BMTX {
  const { terms } = plan.record;
  for (const kind of ['payment', 'collateral'] as const) {
    if (escrowValue(terms, kind) < MIN_ESCROW_VALUE) throw new RangeError(`${kind} below ${MIN_ESCROW_VALUE}: ${escrowValue(terms, kind)}`);
  }
  const bad = checkShare(terms, 'payment', plan.renter, plan.fee) ?? checkShare(terms, 'collateral', plan.host, plan.fee);
  if (bad) throw new RangeError(`funding does not add up: ${bad}`);
  if (sharesOverlap(plan.renter, plan.host)) throw new RangeError('renter and host shares spend the same coin');

  const mtx = new MTX();
  mtx.version = 2;
  for (const c of [...plan.renter.coins, ...plan.host.coins]) mtx.addCoin(coinOf(c));
  mtx.addOutput(Script.fromNulldata(plan.record.encode()), 0);
  mtx.addOutput(escrowOutputScript(terms, 'payment'), escrowValue(terms, 'payment'));
  mtx.addOutput(escrowOutputScript(terms, 'collateral'), escrowValue(terms, 'collateral'));
  for (const part of [plan.renter, plan.host]) {
    if (part.changeValue > 0) mtx.addOutput(Script.fromRaw(part.changeScript), part.changeValue);
  }
  return mtx;
}

export function coinOf(c: FundingCoin): BCoin {
  return Coin.fromOptions({ version: 1, height: -1, value: c.value, script: Script.fromRaw(c.script), hash: Buffer.from(c.hash).toString('hex'), index: c.index });
}

/** The witnesses of inputs [start, start + count) — a party's signatures to hand over. */
export function witnessesOf(mtx: { inputs: BInput[] }, start: number, count: number): Buffer[][] {
  return mtx.inputs.slice(start, start + count).map((input) => input.witness.toItems());
}

/** Puts the other party's witnesses into its inputs, from `start`. */
export function applyWitnesses(mtx: { inputs: BInput[] }, start: number, witnesses: Uint8Array[][]): void {
  witnesses.forEach((items, i) => mtx.inputs[start + i].witness.fromItems(items.map((x) => Buffer.from(x))));
}

export interface EscrowOutput {
  script: BScript;
  value: number;
}

/**
 * A spend of escrow outputs: the payment output, the collateral output or
 * both (in that order), paying `outputs`. With `locktime` the spend waits for
 * that height (needed by the refund branch); sequences are then 0xfffffffe
 * so the locktime is enforced.
 */
export function spendEscrow(fundingTx: BTX, terms: Terms, kinds: EscrowKind[], outputs: EscrowOutput[], locktime = 0): BMTX {
  if (kinds.length === 0) throw new RangeError('spend at least one escrow output');
  const mtx = new MTX();
  mtx.version = 2;
  mtx.locktime = locktime;
  for (const kind of kinds) {
    const index = kind === 'payment' ? FundingOutput.PAYMENT : FundingOutput.COLLATERAL;
    const out = fundingTx.outputs[index];
    const input = mtx.addCoin(Coin.fromOptions({ version: 2, height: -1, value: out.value, script: out.script, hash: fundingTx.hash('hex'), index }));
    if (locktime > 0) input.sequence = 0xfffffffe;
  }
  for (const o of outputs) mtx.addOutput(o.script, o.value);
  return mtx;
}

/** One party's signature (DER + SIGHASH_ALL) of escrow input `index` of `mtx`. */
export function signEscrowInput(mtx: BMTX, index: number, terms: Terms, kind: EscrowKind, secretKey: Uint8Array): Buffer {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== SECRET_SIZE) throw new TypeError('secretKey must be 32 bytes');
  return mtx.signature(index, escrowScript(terms, kind), escrowValue(terms, kind), Buffer.from(secretKey), hashType.ALL, 1);
}

/** Witness items of each branch: how the registry tells a settlement from a refund. */
export const COOPERATIVE_WITNESS_ITEMS = 5;
export const REFUND_WITNESS_ITEMS = 3;

/** Witness of the 2-of-2 branch: both signatures, renter's first (the script's key order). */
export function cooperativeWitness(mtx: BMTX, index: number, terms: Terms, kind: EscrowKind, renterSig: Uint8Array, hostSig: Uint8Array): void {
  mtx.inputs[index].witness.fromItems([
    Buffer.alloc(0), // CHECKMULTISIG pops one extra item
    Buffer.from(renterSig),
    Buffer.from(hostSig),
    Buffer.from([1]), // take OP_IF
    escrowScript(terms, kind).toRaw(),
  ]);
}

/** Witness of the refund branch: the owner's signature alone, after ownerRefundHeight. */
export function refundWitness(mtx: BMTX, index: number, terms: Terms, kind: EscrowKind, ownerSig: Uint8Array): void {
  mtx.inputs[index].witness.fromItems([
    Buffer.from(ownerSig),
    Buffer.alloc(0), // take OP_ELSE (MINIMALIF: false is the empty vector)
    escrowScript(terms, kind).toRaw(),
  ]);
}

/**
 * Contextual check of a transaction carrying a contract record: its outputs
 * 1 and 2 must be exactly the escrow the terms call for. A record without
 * its money locked is not a funded contract.
 */
export function locksEscrow(tx: BTX, terms: Terms): boolean {
  if (tx.outputs.length < 3) return false;
  return (['payment', 'collateral'] as const).every((kind) => {
    const out = tx.outputs[kind === 'payment' ? FundingOutput.PAYMENT : FundingOutput.COLLATERAL];
    return out.value === escrowValue(terms, kind) && out.value >= MIN_ESCROW_VALUE && out.script.equals(escrowOutputScript(terms, kind));
  });
}
