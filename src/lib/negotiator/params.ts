/**
 * What the NegotiatorService and its parts share: the clock offers and
 * negotiations run on (unix seconds), and the checks of values an HTTP
 * caller passes, which fail with EUSAGE and what was expected.
 */
import { negotiatorError } from './errors.js';

export function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}

export function hexParam(s: unknown, bytes: number, what: string): Buffer {
  if (typeof s !== 'string' || !new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(s)) throw negotiatorError('EUSAGE', `${what} must be ${bytes} bytes of hex`);
  return Buffer.from(s, 'hex');
}

export function intParam(v: unknown, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max) throw negotiatorError('EUSAGE', `${what} must be an integer from ${min} to ${max}`);
  return n;
}
