/** Address groups (src/lib/net/netgroup.ts): what the host counts unfunded negotiations by. */
import test from 'ava';
import { netgroupOf } from '../src/lib/net/netgroup.js';

test('IPv4 peers group by /16, IPv6 by /32, an IPv4-mapped address as IPv4', (t) => {
  t.is(netgroupOf('203.0.113.7'), netgroupOf('203.0.200.9'));
  t.not(netgroupOf('203.0.113.7'), netgroupOf('203.1.113.7'));
  t.is(netgroupOf('2001:db8:1::1'), netgroupOf('2001:0db8:ffff::2'));
  t.not(netgroupOf('2001:db8::1'), netgroupOf('2001:db9::1'));
  t.is(netgroupOf('::ffff:203.0.113.7'), netgroupOf('203.0.5.5'));
  t.is(netgroupOf('[2001:db8::1]'), netgroupOf('2001:db8::2'));
  t.is(netgroupOf('::2001:db8'), 'ipv6:0:0');
});

test('every loopback address is its own group; anything else unknown is its own', (t) => {
  t.not(netgroupOf('127.0.0.1'), netgroupOf('127.0.0.2'));
  t.is(netgroupOf('127.0.0.1'), netgroupOf('127.0.0.1'));
  t.is(netgroupOf('::1'), netgroupOf('0:0:0:0:0:0:0:1'));
  t.not(netgroupOf('::1'), netgroupOf('127.0.0.1'));
  t.is(netgroupOf('example.onion'), 'other:example.onion');
});
