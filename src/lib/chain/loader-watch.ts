/**
 * A fifth fix to bcoin 1.0.2 (docs/node.md): until its chain counts as synced,
 * bcoin downloads blocks from one peer only, its loader, and ignores the block
 * announcements of every other peer. A loader that has nothing to give holds
 * the sync until bcoin drops it: after 30 s if it leaves the sync request
 * unanswered (a node that is not synced itself answers none), after two
 * minutes if it answered and then sends no block, however many blocks the
 * other peers have. This watch hands the loader role to a peer that is ahead
 * once the loader and the chain have both been still for a while.
 */
import { bcoin, type BcoinChain, type BcoinFullNode, type BcoinPeer, type BcoinPool } from './bcoin.js';

/**
 * How long the loader and the chain must both be still before the role moves.
 * A loader that has blocks answers the sync request within a round trip and
 * is then sent for blocks (the watch leaves a loader alone while any is on its
 * way), so 10 s without an answer or a block means it has none. That is a
 * third of bcoin's shortest wait, and many round trips even on a slow link.
 */
export const LOADER_QUIET_MS = 10_000;

const NETWORK: number = bcoin.net.common.services.NETWORK;

export class LoaderWatch {
  private timer: NodeJS.Timeout | null = null;
  private checking = false;
  private height = -1;
  private movedAt = 0;
  private switchedAt = 0;
  /**
   * Peers the watch took the role from, with the block each had announced then.
   * One of them is tried again only after it announces another block: two peers
   * that claim blocks and serve none would otherwise pass the role back and
   * forth for ever, each move restarting the clock by which bcoin drops a
   * loader that sends no block, so bcoin would never look for a third.
   */
  private readonly left = new WeakMap<BcoinPeer, string | null>();

  constructor(
    private readonly pool: BcoinPool,
    private readonly chain: BcoinChain,
    private readonly log: (line: string) => void,
    private readonly quietMs = LOADER_QUIET_MS,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.check().catch((err) => this.pool.emit('error', err));
    }, Math.min(1_000, this.quietMs / 4));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      await this.maybeSwitch(Date.now());
    } finally {
      this.checking = false;
    }
  }

  private async maybeSwitch(now: number): Promise<void> {
    if (this.chain.height !== this.height) {
      this.height = this.chain.height;
      this.movedAt = now;
    }
    if (this.chain.synced || !this.pool.syncing) return;
    const loader = this.pool.peers.load;
    if (!loader?.handshake || loader.blockMap.size > 0) return;
    const still = now - this.quietMs;
    if (this.movedAt > still || loader.blockTime > still || this.switchedAt > still) return;

    const next = await this.peerAhead();
    if (!next || this.pool.peers.load !== loader || this.chain.synced || !this.usable(next)) return;
    this.left.set(loader, loader.bestHash);
    loader.loader = false;
    // As a non-loader it is asked again for blocks with every other peer once the chain is synced.
    loader.syncing = false;
    loader.blockTime = -1;
    this.pool.peers.load = null;
    this.switchedAt = now;
    const height = knownHeight(next);
    this.log(`sync peer ${loader.hostname()} has nothing for ${this.quietMs / 1000} s; syncing from ${next.hostname()}`
      + (height > this.chain.height ? ` at height ${height}` : ', which announced a block this node lacks'));
    this.pool.setLoader(next);
  }

  /** The usable outbound peer ahead of this node that claims the most blocks, if any. */
  private async peerAhead(): Promise<BcoinPeer | null> {
    let best: BcoinPeer | null = null;
    for (let peer = this.pool.peers.head(); peer; peer = peer.next) {
      if (peer.loader || !this.usable(peer)) continue;
      if (this.left.has(peer) && this.left.get(peer) === peer.bestHash) continue;
      if (best && knownHeight(peer) <= knownHeight(best)) continue;
      const ahead = knownHeight(peer) > this.chain.height
        || (peer.bestHash !== null && !await this.chain.hasEntry(peer.bestHash));
      if (ahead) best = peer;
    }
    return best;
  }

  /** An outbound peer bcoin would sync from: bcoin's Pool.isSyncable without its loader test. */
  private usable(peer: BcoinPeer): boolean {
    return peer.outbound && peer.handshake && !peer.destroyed && peer.hasServices(NETWORK)
      && (!this.pool.options.hasWitness() || peer.hasWitness());
  }
}

/** The height a peer gave in its version message, or a greater one bcoin learnt of later. */
function knownHeight(peer: BcoinPeer): number {
  return Math.max(peer.height, peer.bestHeight);
}

/** The daemon's install, as a bcoin plugin: the watch runs while the node is open. */
export const loaderWatchPlugin = {
  id: 'cloudcoin-loader-watch',
  init(node: BcoinFullNode) {
    const watch = new LoaderWatch(node.pool, node.chain, (line) => node.logger.info(line));
    return {
      open: async () => watch.start(),
      close: async () => watch.stop(),
    };
  },
};
