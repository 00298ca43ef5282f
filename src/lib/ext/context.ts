/**
 * What an extension uses to reach CloudCoin's helpers:
 *
 *     export const id = 'example';
 *     export function init(node) {
 *       const ext = extensionContext(node, id);
 *       ext.onMessage('ccping', { maxSize: 64 }, (peer, payload) => ext.send(peer, 'ccpong', payload));
 *       ext.route('get', '/hello', () => ({ body: { hello: 'world' } }));
 *       return { open: async () => {}, close: async () => {} };
 *     }
 */
import type { Level } from 'level';
import { primaryWallet, type BcoinFullNode, type BcoinPeer } from '../chain/bcoin.js';
import { WalletFunder } from '../wallet/funding.js';
import { ExtensionHost } from './host.js';
import type { HttpMethod, MessageHandler, MessageOptions, RouteHandler } from './types.js';

export interface ExtensionContext {
  readonly id: string;
  readonly node: BcoinFullNode;
  /** The data directory of this node's user and network. */
  readonly datadir: string;
  /** Registers the handler of one `cc*` command; a command belongs to one extension. */
  onMessage(cmd: string, options: MessageOptions, handler: MessageHandler): void;
  send(peer: BcoinPeer, cmd: string, payload: Uint8Array): void;
  /** Sends to every connected peer but `except`; returns how many got it. */
  broadcast(cmd: string, payload: Uint8Array, except?: BcoinPeer): number;
  /** The connected peers that finished their handshake. */
  peers(): BcoinPeer[];
  /** Raises a peer's ban score; at 100 bcoin disconnects and bans it. */
  penalize(peer: BcoinPeer, score: number, reason: string): void;
  /** Adds `method path` under `/ext/<id>`, behind the node's API key. */
  route(method: HttpMethod, path: string, handler: RouteHandler): void;
  /** This extension's LevelDB, in `<datadir>/ext/<id>`; the daemon closes it after the extension's close(). */
  db(): Level<string, Buffer>;
  /** The node's wallet as a funder of contract transactions (call after the node opened). */
  walletFunder(): WalletFunder;
}

export function extensionContext(node: BcoinFullNode, id: string): ExtensionContext {
  ExtensionHost.checkId(id);
  const host = ExtensionHost.of(node);
  return {
    id,
    node,
    datadir: host.datadir,
    onMessage: (cmd, options, handler) => host.registerMessage(id, cmd, options, handler),
    send: (peer, cmd, payload) => host.send(peer, cmd, payload),
    broadcast: (cmd, payload, except) => host.broadcast(cmd, payload, except),
    peers: () => host.peers(),
    penalize: (peer, score, reason) => host.penalize(peer, score, reason),
    route: (method, path, handler) => host.route(id, method, path, handler),
    db: () => host.db(id),
    walletFunder: () => new WalletFunder(primaryWallet(node), () => node.chain.height, host.walletPassphrase),
  };
}
