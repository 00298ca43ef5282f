/**
 * The one place that loads bcoin. bcoin 1.0.2 is CommonJS without types, so
 * this module types the small part of it CloudCoin uses; everything else in
 * src/ imports bcoin through here.
 */
import { createRequire } from 'node:module';
import type { EventEmitter } from 'node:events';

import './leveldown-compat.js';
// Signature checks on libsecp256k1 with a signature cache, before any of bcoin runs.
import './native-secp.js';
import './sigcache.js';
import type { BBlock, BScript, BTX } from './primitives.js';

const require = createRequire(import.meta.url);

export interface BcoinNetwork {
  type: string;
  magic: number;
  port: number;
  rpcPort: number;
  walletPort: number;
  genesis: { hash: string; bits: number; nonce: number; time: number };
  genesisBlock: string;
  addressPrefix: { bech32: string; pubkeyhash: number; scripthash: number };
  keyPrefix: { privkey: number };
}

export interface BcoinPeer extends EventEmitter {
  id: number;
  hostname(): string;
  outbound: boolean;
  handshake: boolean;
  destroyed: boolean;
  /** The next peer in the pool's list. */
  next: BcoinPeer | null;
  banScore: number;
  address: { host: string; port: number; hostname: string };
  /** Whether the pool syncs the chain from this peer while the chain is not synced. */
  loader: boolean;
  /** Whether a sync request went to this peer and it still counts as serving it. */
  syncing: boolean;
  /** The height in the peer's version message. */
  height: number;
  /** The last block the peer announced (hex, internal byte order) and its height, -1 if bcoin does not know it. */
  bestHash: string | null;
  bestHeight: number;
  /** When the peer last sent a block or headers while syncing, or was asked to sync; -1 if not syncing. */
  blockTime: number;
  /** Blocks asked of this peer and not yet received. */
  blockMap: Map<string, number>;
  hasServices(services: number): boolean;
  hasWitness(): boolean;
  sendRaw(cmd: string, body: Buffer): void;
  increaseBan(score: number): boolean;
  destroy(): void;
}

export interface BcoinPool extends EventEmitter {
  /** Announces `tx` to every peer (an inv; peers that want it fetch it). */
  broadcast(tx: BTX): unknown;
  peers: { head(): BcoinPeer | null; size(): number; outbound: number; inbound: number; load: BcoinPeer | null };
  hosts: { banned: Map<string, number>; isBanned(host: string): boolean };
  options: { services: number; hasWitness(): boolean };
  connected: boolean;
  syncing: boolean;
  /** Makes `peer` (outbound, not a loader, with no other loader set) the loader and sends it a sync request. */
  setLoader(peer: BcoinPeer): void;
}

export interface BcoinChainEntry { height: number; hash: Buffer | string; time: number }

export interface BcoinChain extends EventEmitter {
  height: number;
  tip: BcoinChainEntry;
  /** Set once the tip is recent; until then blocks come from the pool's loader only. */
  synced: boolean;
  hasEntry(hash: string | Buffer): Promise<boolean>;
  getEntry(height: number): Promise<BcoinChainEntry | null>;
  getEntryByHeight(height: number): Promise<BcoinChainEntry | null>;
  getEntryByHash(hash: string | Buffer): Promise<BcoinChainEntry | null>;
  isMainChain(entry: BcoinChainEntry): Promise<boolean>;
  getBlock(hash: string | Buffer): Promise<BBlock | null>;
}

/** A coin of the wallet; bcoin 1.0.2 keeps its hash as hex, internal byte order. */
export interface BcoinWalletCoin {
  hash: string;
  index: number;
  value: number;
  height: number;
  coinbase: boolean;
  script: BScript;
  toKey(): Buffer;
}

export interface BcoinOutpointKey {
  toKey(): Buffer;
}

/** The members of bcoin's Wallet (the primary wallet of the node's WalletDB) that CloudCoin calls. */
export interface BcoinWallet {
  getCoins(): Promise<BcoinWalletCoin[]>;
  /** bcoin keys locked coins by `toKey()`: pass one of its Coins or Outpoints, not a plain object. */
  isLocked(coin: BcoinOutpointKey): boolean;
  lockCoin(coin: BcoinOutpointKey): void;
  unlockCoin(coin: BcoinOutpointKey): void;
  /** Held by `send` and `fund` from choosing coins to indexing the transaction (bmutex): resolves with its release. */
  fundLock: { lock(): Promise<() => void> };
  receiveAddress(): Promise<unknown>;
  changeAddress(): Promise<unknown>;
  getPrivateKey(address: unknown, passphrase: string): Promise<unknown>;
  /** Funds, signs and broadcasts a transaction with `options.outputs`. */
  send(options: { outputs: { script: BScript; value: number }[]; sort?: boolean }, passphrase: string): Promise<BTX>;
  lock(): Promise<void>;
}

export interface BcoinHTTP {
  get(path: string, handler: (req: any, res: any) => unknown): void;
  post(path: string, handler: (req: any, res: any) => unknown): void;
  put(path: string, handler: (req: any, res: any) => unknown): void;
  del(path: string, handler: (req: any, res: any) => unknown): void;
}

export interface BcoinFullNode extends EventEmitter {
  network: BcoinNetwork;
  chain: BcoinChain;
  pool: BcoinPool;
  mempool: EventEmitter & { map: Map<unknown, unknown>; getSize(): number; addTX(tx: BTX): Promise<unknown>; hasEntry(hash: string): boolean };
  http: BcoinHTTP;
  rpc: { add(name: string, fn: (args: unknown[], help: boolean) => unknown): void };
  plugins: Record<string, any>;
  startTime: number;
  logger: { info(...args: unknown[]): void; error(...args: unknown[]): void; warning(...args: unknown[]): void };
  ensure(): Promise<void>;
  open(): Promise<void>;
  connect(): Promise<void>;
  startSync(): void;
  /** Adds `tx` to the mempool and relays it; rejects if the mempool refuses it. */
  sendTX(tx: BTX): Promise<void>;
  close(): Promise<void>;
  use(plugin: { id: string; init(node: any): any }): any;
  require(name: string): any;
  uptime(): number;
}

export interface Bcoin {
  FullNode: new (options: Record<string, unknown>) => BcoinFullNode;
  Network: {
    get(type: string): BcoinNetwork;
    create(options: Record<string, unknown>): BcoinNetwork;
  };
  wallet: { plugin: { id: string; init(node: any): any }; WalletDB: new (options: Record<string, unknown>) => any };
  Address: any;
  Block: any;
  TX: any;
  MTX: any;
  Script: any;
  KeyRing: any;
  Outpoint: new (hash: string, index: number) => BcoinOutpointKey;
  Coin: any;
  consensus: any;
  net: any;
}

export const bcoin: Bcoin = require('bcoin');

/** The node's primary wallet (its wallet plugin must be loaded and open). */
export function primaryWallet(node: BcoinFullNode): BcoinWallet {
  return node.plugins.walletdb.wdb.primary;
}

export const networks: any = require('bcoin/lib/protocol/networks.js');
// bn.js is bcoin's own dependency: resolve it from bcoin so both use one copy.
export const BN: any = createRequire(require.resolve('bcoin'))('bn.js');
