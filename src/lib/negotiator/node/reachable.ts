/**
 * A bcoin node's own dialable address, and dialling another node by address:
 * what lets a renter reach a host it learnt of only through its offer
 * (docs/protocol.md §8.2). The node's address is, in this order: the one it
 * was given (`node start --external-address`, bcoin's publicHost), the one
 * its peers saw it at (each peer's version message says what address it
 * reached us at, as Bitcoin Core's SeenLocal counts them), or the address it
 * listens on when that is a specific one. Peers see the address, not our
 * listening port (an outbound connection leaves from another), so the port is
 * always our own.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { bcoin } from '../../chain/bcoin.js';
import { formatHostPort, splitHostPort } from '../../net/address.js';

interface NetAddressLike {
  host: string;
  port: number;
  hostname: string;
}

interface PeerLike {
  handshake: boolean;
  destroyed: boolean;
  next: PeerLike | null;
  /** Our address as this peer's version message gave it. */
  local: NetAddressLike | null;
}

/** The members of bcoin's Pool used here (lib/net/pool.js). */
export interface DialablePool {
  network: unknown;
  options: { listen: boolean; host: string; port: number; publicHost: string; publicPort: number };
  peers: { head(): PeerLike | null; get(hostname: string): PeerLike | undefined; add(peer: PeerLike): void };
  createOutbound(addr: NetAddressLike): PeerLike;
  emit(event: string, ...args: unknown[]): boolean;
}

const _WILDCARD = new Set(['0.0.0.0', '::', '']);


export function reachableAddresses(pool: DialablePool): string[] {
  const o = pool.options;
  if (!o.listen) return [];
  if (!_WILDCARD.has(o.publicHost)) return [formatHostPort(o.publicHost, o.publicPort)];
  const seen = new Map<string, number>();
  for (let p = pool.peers.head(); p; p = p.next) {
    const host = p.handshake && !p.destroyed ? p.local?.host : undefined;
    if (host && !_WILDCARD.has(host)) seen.set(host, (seen.get(host) ?? 0) + 1);
  }
  if (seen.size > 0) {
    return [...seen.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, 2)
      .map(([host]) => formatHostPort(host, o.publicPort));
  }
  return _WILDCARD.has(o.host) ? [] : [formatHostPort(o.host, o.publicPort)];
}

export async function dialAddress(pool: DialablePool, address: string): Promise<void> {
  const parsed = splitHostPort(address);
  if (!parsed || parsed.port === undefined) throw new RangeError(`not a host:port address: ${JSON.stringify(address)}`);
  const port = parsed.port;
  const host = isIP(parsed.host) ? parsed.host : (await lookup(parsed.host)).address;
  const addr: NetAddressLike = bcoin.net.NetAddress.fromHost(host, port, pool.network);
  if (pool.peers.get(addr.hostname)) return;
  // What bcoin's pool does for each outbound peer it picks itself (Pool#addOutbound).
  const peer = pool.createOutbound(addr);
  pool.peers.add(peer);
  pool.emit('peer', peer);
}
