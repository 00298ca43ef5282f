/**
 * What the node-bound half of the Negotiator needs of a node, and nothing
 * more, as hsd's wallet reaches its node through lib/wallet/nodeclient.js:
 * the chain (tip height, entries and blocks by height, connect and
 * disconnect events), the mempool and relay, the wallet that funds and signs
 * contracts and pays for records, the peers and their `cc*` messages, and a
 * logger. BcoinNodeAdapter (bcoin-adapter.ts) is the one over a running
 * bcoin node; MemoryNodeAdapter (memory-adapter.ts) has no chain behind it
 * and runs a NegotiatorService inside one process.
 */
import type { NetworkName } from '../../chain/networks.js';
import type { BScript, BTX } from '../../chain/primitives.js';
import type { IndexedChain } from '../indexer.js';
import type { FundingWallet } from '../negotiator.js';

/** A connected peer: only the adapter that handed it out sends to it. */
export interface NodePeer {
  /** Unique among the node's peers while it is connected. */
  readonly id: number;
}

export interface NodeLogger {
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
}

export interface TxOutput {
  script: BScript;
  value: number;
}

/** The node's wallet, as the Negotiator uses it outside the funding of a contract. */
export interface NodeWallet {
  /** The passphrase the node was started with, if it was; the wallet stays locked without it. */
  readonly passphrase: string | undefined;
  /** A transaction paying `outputs`, in this order, from the wallet's coins, signed and broadcast; its txid. */
  send(outputs: TxOutput[], passphrase: string): Promise<string>;
  lock(): Promise<void>;
  /** The output script of a fresh receive address. */
  receiveScript(): Promise<BScript>;
  /** Shares and signs a contract's funding transaction (call after the node opened). */
  funder(): FundingWallet;
  /**
   * Adds `secretKey` to account 0 as a P2PKH key, so coins paid to
   * hash160 of its public key count in the wallet's balance. False if the
   * wallet held it already.
   */
  importKey(secretKey: Uint8Array, passphrase: string): Promise<boolean>;
}

export type PeerEvent = 'peer open' | 'peer close';

/** An unspent output, as the chain or the mempool holds it. */
export interface UnspentCoin {
  value: number;
  script: Uint8Array;
}

export interface NodeAdapter {
  /** The network the node runs on: it fixes the contracts' proof windows. */
  readonly network: NetworkName;
  readonly chain: IndexedChain;
  /** Unix time (seconds) of the tip block: how far behind the network the node may be. */
  tipTime(): number;
  /** Adds `tx` to the mempool without relaying it; rejects with the mempool's reason. */
  addTX(tx: BTX): Promise<void>;
  /** Announces a transaction the mempool holds to every peer. */
  broadcastTX(tx: BTX): void;
  /** Adds `tx` to the mempool and relays it; rejects with the mempool's reason. */
  sendTX(tx: BTX): Promise<void>;
  readonly wallet: NodeWallet;
  /** 'peer open' once a peer finished its handshake; 'peer close' when it is gone. */
  on(event: PeerEvent, listener: (peer: NodePeer) => void): void;
  off(event: PeerEvent, listener: (peer: NodePeer) => void): void;
  send(peer: NodePeer, cmd: string, payload: Uint8Array): void;
  /** Sends to every connected peer but `except`; returns how many got it. */
  broadcast(cmd: string, payload: Uint8Array, except?: NodePeer): number;
  /** The connected peers that finished their handshake. */
  peers(): NodePeer[];
  /**
   * Where other nodes can dial this one, `host:port`, best first: the address
   * it was told is its own, else what its peers saw of it, else the address it
   * listens on when that is a specific one. Empty when it does not listen or
   * cannot tell (docs/protocol.md §8.2).
   */
  reachableAddresses(): string[];
  /**
   * Connects to the node at `address` (`host:port`, a DNS name resolved
   * first) unless a peer there is connected already; its handshake then
   * raises 'peer open'. Rejects on an address it cannot dial.
   */
  dial(address: string): Promise<void>;
  /**
   * Where the peer's node takes connections, as canonicalHostPort
   * (src/lib/net/address.ts) writes it: for an outbound peer, the address
   * we dialled. Null when that cannot be told: an inbound peer connects from
   * another port, and bcoin's version message names no listening address
   * (bcoin sends its own empty and keeps nothing of the peer's).
   */
  listenAddressOf(peer: NodePeer): string | null;
  /** The address group of a peer (src/lib/net/netgroup.ts): what per-peer limits count by, so a reconnect does not reset them. */
  groupOf(peer: NodePeer): string;
  /**
   * The output `index` of transaction `hash` (internal byte order) if it is
   * unspent in the chain and the mempool, else null. Absent where there is
   * no UTXO set (the in-memory adapter): then a renter's coins go unchecked.
   */
  coin?(hash: Uint8Array, index: number): Promise<UnspentCoin | null>;
  /** Raises a peer's ban score; at 100 the node disconnects and bans it. */
  penalize(peer: NodePeer, score: number, reason: string): void;
  readonly logger: NodeLogger;
}
