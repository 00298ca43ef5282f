/**
 * Quantities as people type them on a command line or in a config file, and
 * sizes as they read them. Every command and option that takes a size parses
 * it here, so `500M` means the same to `contract offer`, `contract accept` and
 * `serve --max-storage`.
 *
 * Sizes follow GNU coreutils and IEC 80000-13, case-insensitive, with
 * decimals allowed (`1.5TiB`):
 * - `KB MB GB TB` are powers of 1000 (`500MB` = 500,000,000 bytes);
 * - `KiB MiB GiB TiB` are powers of 1024 (`500MiB` = 524,288,000 bytes);
 * - a bare `K M G T` is a power of 1024, as restic, df and dd read it
 *   (`500M` = `500MiB`);
 * - `B` or a plain number is bytes. A fraction of a byte is dropped.
 *
 * Durations are blocks: a plain number, `500b`, or `12h`, `30d`, `2w`, `3mo`
 * at 10-minute blocks (6 an hour, 144 a day, 1,008 a week, 4,320 a month).
 * An offer's validity is wall-clock seconds: a plain number, or `90s`, `30m`,
 * `12h`, `7d`, `2w`. Prices and collateral are CC amounts (parseAmount in
 * wallet/amount.ts: exact decimals, never floating point).
 *
 * @example
 * parseSize('500MB');  // 500000000
 * parseSize('500M');   // 524288000
 * parseSize('1.5TiB'); // 1649267441664
 * formatSize(1536);    // '1.5 KiB'
 */
import { CloudCoinError, ExitCode } from './errors.js';

const _SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4,
  kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4,
  kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12,
};
const _BLOCK_UNITS: Record<string, number> = { '': 1, b: 1, blocks: 1, h: 6, d: 144, w: 1008, mo: 4320 };
const _SECOND_UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
const _FORMAT_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

function _usage(message: string): CloudCoinError {
  return new CloudCoinError('EUSAGE', message, ExitCode.usage);
}

function _parse(text: string, units: Record<string, number>, what: string, example: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? units[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw _usage(`${what} "${text}" is not valid: use e.g. ${example}`);
  const n = Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(n) || n < 1) throw _usage(`${what} "${text}" is out of range`);
  return n;
}

/** Bytes in `text`, by the rule above; a usage error (exit 2) naming the text otherwise. */
export function parseSize(text: string): number {
  return _parse(text, _SIZE_UNITS, 'size', '500MB (10^6 bytes), 500MiB or 500M (2^20 bytes), 1.5TiB or 1048576');
}

/** `30d` → 4320 blocks; a plain number is blocks. */
export function parseDuration(text: string): number {
  return _parse(text, _BLOCK_UNITS, 'duration', '30d, 12h, 2w, 3mo or 4320 (blocks)');
}

/** `7d` → 604800 seconds (wall-clock validity of an offer); a plain number is seconds. */
export function parseValidity(text: string): number {
  return _parse(text, _SECOND_UNITS, 'validity', '7d, 12h or 3600 (seconds)');
}

/** `5m` → 300 seconds of waiting (`--retry-lock`); a plain number is seconds, and 0 is no wait. */
export function parseWait(text: string): number {
  if (/^\s*0\s*$/.test(text)) return 0;
  return _parse(text, _SECOND_UNITS, 'wait', '30s, 5m, 1h or 300 (seconds)');
}

/**
 * Bytes in the largest binary unit that keeps the number at least 1, with one
 * decimal unless it is whole: 10737418240 → "10 GiB", 1536 → "1.5 KiB".
 */
export function formatSize(bytes: number): string {
  let i = 0;
  let v = bytes;
  while (v >= 1024 && i < _FORMAT_UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  const shown = v.toFixed(1);
  return `${shown.endsWith('.0') ? shown.slice(0, -2) : shown} ${_FORMAT_UNITS[i]}`;
}
