/**
 * Contract terms: what a renter proposes, a host counters, and both finally
 * sign into the on-chain contract record. One fixed-size encoding (130 bytes)
 * serves all three, so the bytes a party signs in a negotiation are exactly
 * the bytes that end up on chain.
 *
 * Amounts are in the coin's base unit. Prices are per GiB per month, a month
 * being MONTH_BLOCKS blocks (30 days of 10-minute blocks); the totals are
 * rounded up so a host is never paid less than its price.
 */
import { createHash } from 'node:crypto';
import { PUBKEY_SIZE } from '../crypto/sig.js';
import { malformed } from './errors.js';
import { Reader, Writer } from './wire.js';

export const GIB = 1024 ** 3;
export const MONTH_BLOCKS = 4320;
/** Bitcoin's (and so bcoin's) money supply cap in base units. */
export const MAX_MONEY = 21_000_000 * 100_000_000;
export const NID_SIZE = 32;
/**
 * Latest end height. The escrow's refund height (end + a grace period) is a
 * CHECKLOCKTIMEVERIFY lock time, and lock times from 500,000,000 up are
 * timestamps, not heights; this keeps a wide margin below.
 */
export const MAX_END_HEIGHT = 400_000_000;
export const TERMS_SIZE = PUBKEY_SIZE * 2 + NID_SIZE + 8 + 4 + 4 + 8 + 8;

export interface Terms {
  renterKey: Uint8Array;
  hostKey: Uint8Array;
  /** Negotiation id: 32 random bytes chosen by the renter; makes every contract unique. */
  nid: Uint8Array;
  /** Bytes of storage rented. */
  size: number;
  /** First block of the contract. */
  startHeight: number;
  /** Length in blocks; the contract ends at startHeight + duration. */
  duration: number;
  /** Price per GiB per month. */
  price: number;
  /** Host collateral per GiB per month. */
  collateral: number;
}

function _total(rate: number, size: number, duration: number): number {
  const den = BigInt(GIB) * BigInt(MONTH_BLOCKS);
  const num = BigInt(rate) * BigInt(size) * BigInt(duration);
  const total = (num + den - 1n) / den;
  return total > BigInt(MAX_MONEY) ? Infinity : Number(total);
}

/** Total the renter pays, rounded up; Infinity if above MAX_MONEY. */
export function paymentOf(t: Pick<Terms, 'price' | 'size' | 'duration'>): number {
  return _total(t.price, t.size, t.duration);
}

/** Total collateral the host locks, rounded up; Infinity if above MAX_MONEY. */
export function collateralOf(t: Pick<Terms, 'collateral' | 'size' | 'duration'>): number {
  return _total(t.collateral, t.size, t.duration);
}

export function endHeightOf(t: Terms): number {
  return t.startHeight + t.duration;
}

function _isKey(key: Uint8Array): boolean {
  return key.length === PUBKEY_SIZE && (key[0] === 2 || key[0] === 3);
}

/**
 * Stateless sanity of terms: well-formed keys, two distinct parties, nonzero
 * size and duration, totals that fit the money supply, an end height that
 * stays a height lock time. Throws a `malformed` ProtocolError.
 */
export function checkTerms(t: Terms): void {
  if (!_isKey(t.renterKey) || !_isKey(t.hostKey)) throw malformed('terms: key is not a compressed secp256k1 point');
  if (Buffer.compare(t.renterKey, t.hostKey) === 0) throw malformed('terms: renter and host keys are the same');
  if (t.nid.length !== NID_SIZE) throw malformed('terms: negotiation id must be 32 bytes');
  if (t.size < 1) throw malformed('terms: size must be at least 1 byte');
  if (t.duration < 1) throw malformed('terms: duration must be at least 1 block');
  if (t.startHeight + t.duration > MAX_END_HEIGHT) throw malformed(`terms: end height above ${MAX_END_HEIGHT}`);
  if (paymentOf(t) === Infinity || collateralOf(t) === Infinity) throw malformed('terms: total exceeds the money supply');
}

export function writeTerms(w: Writer, t: Terms): Writer {
  return w
    .bytes(t.renterKey)
    .bytes(t.hostKey)
    .bytes(t.nid)
    .u64(t.size)
    .u32(t.startHeight)
    .u32(t.duration)
    .u64(t.price)
    .u64(t.collateral);
}

export function readTerms(r: Reader): Terms {
  const t: Terms = {
    renterKey: r.bytes(PUBKEY_SIZE, 'renter key'),
    hostKey: r.bytes(PUBKEY_SIZE, 'host key'),
    nid: r.bytes(NID_SIZE, 'negotiation id'),
    size: r.u64('size'),
    startHeight: r.u32('start height'),
    duration: r.u32('duration'),
    price: r.u64('price'),
    collateral: r.u64('collateral'),
  };
  checkTerms(t);
  return t;
}

export function encodeTerms(t: Terms): Buffer {
  return writeTerms(new Writer(TERMS_SIZE), t).render();
}

/** The contract id: sha256 of the encoded terms (unique because the nid is random). */
export function contractIdOf(t: Terms): Buffer {
  return createHash('sha256').update(encodeTerms(t)).digest();
}

export function termsEqual(a: Terms, b: Terms): boolean {
  return encodeTerms(a).equals(encodeTerms(b));
}
