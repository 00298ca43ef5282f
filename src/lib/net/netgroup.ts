/**
 * Address groups, as Bitcoin Core buckets peers: whoever holds one address
 * usually holds its neighbours too, so a limit per connection (which a
 * reconnect resets) or per address (which a second address resets) is a
 * limit per group. IPv4 peers group by /16, IPv6 peers by /32, an
 * IPv4-mapped IPv6 address as its IPv4 address.
 *
 * Loopback is the exception: every loopback address is its own group. All of
 * a machine's own processes (a devnet, the tests) connect from there, and one
 * group for all of them would put every local renter under one limit; a test
 * can still stand for two attackers by connecting from 127.0.0.2 (Linux
 * routes all of 127/8 to the loopback interface).
 */
import { isIPv4, isIPv6 } from 'node:net';

function _ipv4Group(host: string): string {
  if (host.startsWith('127.')) return `lo:${host}`;
  const [a, b] = host.split('.');
  return `ipv4:${a}.${b}`;
}

/** The eight 16-bit groups of an IPv6 address, `::` expanded. */
function _ipv6Words(host: string): string[] {
  const [head, tail] = host.includes('::') ? host.split('::') : [host, null];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const zeros = tail === null ? [] : Array.from({ length: 8 - left.length - right.length }, () => '0');
  return [...left, ...zeros, ...right].map((w) => w.toLowerCase().replace(/^0+(?=.)/, ''));
}

/** The group of a peer's address (an IP as bcoin reports it); anything not an IP is its own group. */
export function netgroupOf(host: string): string {
  const bare = host.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (isIPv4(bare)) return _ipv4Group(bare);
  if (!isIPv6(bare)) return `other:${bare}`;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped) return _ipv4Group(mapped[1]);
  const words = _ipv6Words(bare);
  if (words.slice(0, 7).every((w) => w === '0') && words[7] === '1') return 'lo:::1';
  return `ipv6:${words[0]}:${words[1]}`;
}
