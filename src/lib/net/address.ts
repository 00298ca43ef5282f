/**
 * `host:port` as nodes write each other's addresses: a dotted IPv4, a
 * bracketed IPv6 or a DNS name, then an optional `:port`.
 */
import { isIP } from 'node:net';

/** host and port (undefined when absent) of `text`, or null when it is not of that shape or the port is not 1-65535. */
export function splitHostPort(text: string): { host: string; port: number | undefined } | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(text);
  if (!m) return null;
  const port = m[3] === undefined ? undefined : Number(m[3]);
  if (port !== undefined && (port < 1 || port > 65535)) return null;
  return { host: m[1] ?? m[2], port };
}

/** `host:port`, IPv6 in brackets. */
export function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** IPv6 as the WHATWG URL parser writes it (RFC 5952: compressed, lower case), an IPv4-mapped one as IPv4. */
function _canonicalIPv6(host: string): string {
  const canonical = new URL(`http://[${host}]`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!mapped) return canonical;
  const [hi, lo] = [parseInt(mapped[1], 16), parseInt(mapped[2], 16)];
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

/**
 * `host:port` in one spelling, so that two spellings of one address compare
 * equal (`[::FFFF:127.0.0.1]:1` and `127.0.0.1:1`); a DNS name only in lower
 * case, as it is not resolved. Null when `text` is not `host:port`.
 */
export function canonicalHostPort(text: string): string | null {
  const parsed = splitHostPort(text);
  if (!parsed || parsed.port === undefined) return null;
  const kind = isIP(parsed.host);
  if (kind === 0 && parsed.host.includes(':')) return null;
  const host = kind === 6 ? _canonicalIPv6(parsed.host) : parsed.host.toLowerCase();
  return formatHostPort(host, parsed.port);
}
