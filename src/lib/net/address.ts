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
