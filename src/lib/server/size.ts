/**
 * Sizes as people type them on a command line: `500M`, `2G`, `1.5TiB`,
 * `1048576`. Suffixes K, M, G, T are powers of 1024 (a disk limit is
 * compared with byte counts that are, too); `B`, `iB` after them are allowed.
 */
const UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** Bytes in `text`; throws a RangeError naming the text when it is not a size. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) throw new RangeError(`not a size: ${JSON.stringify(text)} (try 500M, 2G or 1T)`);
  const bytes = Math.floor(Number(m[1]) * UNITS[m[2].toLowerCase()]);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new RangeError(`size out of range: ${JSON.stringify(text)}`);
  return bytes;
}
