/**
 * The two escrow signatures ccpay and ccpayack carry: one of the PAY
 * transaction, one of the SPLIT transaction, for the same proven count
 * (docs/protocol.md §11). Here they are opaque: Bitcoin's DER signature plus
 * its sighash byte, 9 to 73 bytes, each after a u8 length. What they sign is
 * the settlement code's business; the packets only carry them.
 */
import { malformed } from './errors.js';
import type { Reader, Writer } from './wire.js';

/** The shortest DER signature (8 bytes) plus the sighash byte. */
export const MIN_ESCROW_SIG_SIZE = 9;
/** The longest DER signature (72 bytes) plus the sighash byte. */
export const MAX_ESCROW_SIG_SIZE = 73;
/** Both signatures with their length bytes, at most. */
export const MAX_SETTLEMENT_SIGS_SIZE = 2 * (1 + MAX_ESCROW_SIG_SIZE);

export interface SettlementSigs {
  /** Escrow signature of PAY(p): spends the payment output. */
  paySig: Uint8Array;
  /** Escrow signature of SPLIT(p): spends the collateral output. */
  splitSig: Uint8Array;
}

function _checkLength(sig: Uint8Array, what: string): void {
  if (!(sig instanceof Uint8Array) || sig.length < MIN_ESCROW_SIG_SIZE || sig.length > MAX_ESCROW_SIG_SIZE) {
    throw new RangeError(`${what} must be ${MIN_ESCROW_SIG_SIZE} to ${MAX_ESCROW_SIG_SIZE} bytes`);
  }
}

export function settlementSigsSize(s: SettlementSigs): number {
  return 2 + s.paySig.length + s.splitSig.length;
}

export function writeSettlementSigs(w: Writer, s: SettlementSigs): Writer {
  _checkLength(s.paySig, 'pay signature');
  _checkLength(s.splitSig, 'split signature');
  return w.bytes8(s.paySig).bytes8(s.splitSig);
}

function _read(r: Reader, cmd: string, what: string): Buffer {
  const sig = r.bytes8(MAX_ESCROW_SIG_SIZE, `${cmd} ${what}`);
  if (sig.length < MIN_ESCROW_SIG_SIZE) throw malformed(`${cmd}: ${what} shorter than ${MIN_ESCROW_SIG_SIZE} bytes`);
  return sig;
}

export function readSettlementSigs(r: Reader, cmd: string): SettlementSigs {
  return { paySig: _read(r, cmd, 'pay signature'), splitSig: _read(r, cmd, 'split signature') };
}
