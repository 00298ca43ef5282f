/**
 * CC amounts: 1 CC = 100,000,000 base units, shown with 8 decimals. Parsing is
 * exact decimal arithmetic on the string, never floating point.
 */
import { CloudCoinError, ExitCode } from '../errors.js';

export const UNITS_PER_CC = 100_000_000n;
const MAX_UNITS = 21_000_000n * UNITS_PER_CC;

export function parseAmount(text: string): number {
  const m = /^(\d{1,8})(?:\.(\d{1,8}))?$/.exec(text.trim());
  if (!m) throw new CloudCoinError('EBADAMOUNT', `invalid amount "${text}": use CC with at most 8 decimals, e.g. 1.5`, ExitCode.usage);
  const units = BigInt(m[1]) * UNITS_PER_CC + BigInt((m[2] ?? '').padEnd(8, '0'));
  if (units === 0n) throw new CloudCoinError('EBADAMOUNT', 'amount must be greater than zero', ExitCode.usage);
  if (units > MAX_UNITS) throw new CloudCoinError('EBADAMOUNT', `amount ${text} exceeds the coin supply`, ExitCode.usage);
  return Number(units);
}

export function formatAmount(units: number): string {
  const sign = units < 0 ? '-' : '';
  const abs = BigInt(Math.abs(units));
  return `${sign}${abs / UNITS_PER_CC}.${(abs % UNITS_PER_CC).toString().padStart(8, '0')}`;
}
