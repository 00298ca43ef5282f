/**
 * Whether an address stays on this machine. The whole of 127.0.0.0/8 is
 * loopback (127.0.0.2 as much as 127.0.0.1), as are ::1 and IPv4-mapped
 * 127.x. A host name other than `localhost` is not: what it resolves to is not
 * known here.
 */
import { BlockList, isIP } from 'node:net';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** `host` as an address, a URL's hostname (IPv6 in brackets) or a name. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare.toLowerCase() === 'localhost') return true;
  const family = isIP(bare);
  return family !== 0 && LOOPBACK.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}
