/**
 * What `node status`, `node peers` and `node mine` report, read from the
 * running node's HTTP API.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CloudCoinError, ExitCode } from '../errors.js';
import type { NodeClient } from './node-client.js';

export interface NodeStatus {
  network: string;
  height: number;
  tip: string;
  peers: { inbound: number; outbound: number };
  mempool: { transactions: number; bytes: number };
  uptime: number;
  extensions: string[];
  pid: number;
  ports: { p2p: number; http: number; wallet: number };
}

export interface PeerInfo {
  id: number;
  address: string;
  inbound: boolean;
  version: number;
  subversion: string;
  height: number;
  banScore: number;
}

export async function nodeStatus(client: NodeClient): Promise<NodeStatus> {
  const info = await client.node('GET', '/');
  const ext = await client.node<{ extensions: string[] }>('GET', '/ext');
  const rt = client.runtime;
  return {
    network: rt.network,
    height: info.chain.height,
    tip: info.chain.tip,
    peers: { inbound: info.pool.inbound, outbound: info.pool.outbound },
    mempool: { transactions: info.mempool.tx, bytes: info.mempool.size },
    uptime: info.time.uptime,
    extensions: ext.extensions,
    pid: rt.pid,
    ports: { p2p: rt.port, http: rt.httpPort, wallet: rt.walletPort },
  };
}

export async function nodePeers(client: NodeClient): Promise<PeerInfo[]> {
  const peers: any[] = await client.rpc('getpeerinfo');
  return peers.map((p) => ({
    id: p.id,
    address: p.addr,
    inbound: p.inbound,
    version: p.version,
    subversion: p.subver,
    height: p.startingheight,
    banScore: p.banscore,
  }));
}

/** Mines `count` blocks on the dev network, paying `address`; returns the new block hashes. */
export async function mine(client: NodeClient, count: number, address: string): Promise<string[]> {
  if (client.runtime.network !== 'dev') {
    throw new CloudCoinError('ENOTDEV', `mining on demand is for the dev network only; this node is on ${client.runtime.network}`, ExitCode.usage);
  }
  if (!Number.isInteger(count) || count < 1 || count > 10_000) {
    throw new CloudCoinError('EBADCOUNT', 'the number of blocks must be from 1 to 10000', ExitCode.usage);
  }
  const blocks = await client.rpc<string[]>('generatetoaddress', [count, address]);
  await waitWalletSynced(client);
  return blocks;
}

/** Resolves once the node's wallet has processed every block of its chain. */
export async function waitWalletSynced(client: NodeClient, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await client.node<{ chain: number; wallet: number }>('GET', '/cloudcoin/sync');
    if (s.wallet >= s.chain) return;
    if (Date.now() > deadline) throw new CloudCoinError('ESYNC', `the wallet is still at height ${s.wallet} of ${s.chain}`);
    await sleep(50);
  }
}
