/**
 * A new node whose sync peer (bcoin's loader) is as empty as itself, on real
 * nodes in this process: the loader watch (src/lib/chain/loader-watch.ts)
 * moves the sync to a connected peer that has blocks, in seconds. bcoin 1.0.2
 * alone waits until the empty loader has left its sync request unanswered for
 * 30 s (Peer.RESPONSE_TIMEOUT), drops it and only then asks another peer.
 *
 * The nodes are on the test network: a dev chain counts as synced from its
 * genesis, and bcoin asks every peer there.
 */
import test, { type ExecutionContext } from 'ava';
import { bcoin } from '../src/lib/chain/bcoin.js';
import { LOADER_QUIET_MS, LoaderWatch } from '../src/lib/chain/loader-watch.js';
import { bcoinType, getNetwork } from '../src/lib/chain/networks.js';
import { freePorts } from '../src/lib/devnet/ports.js';
import { inProcessNode, mineBlocks } from './util/bcoin-node.js';
import { waitFor } from './util/devnode.js';

const BLOCKS = 30;
/**
 * From the sync request to the empty loader: under bcoin's 30 s, which is a
 * floor for bcoin alone, and over the watch's 10 s with room for a busy machine.
 */
const BOUND_MS = 25_000;
const network = bcoinType('test');

/** F's blocks, mined once: proof of work on the test network takes most of a second a block. */
let mined: Promise<unknown[]> | null = null;
function testBlocks(t: ExecutionContext): Promise<unknown[]> {
  mined ??= (async () => {
    const miner = await inProcessNode(t, 'cc-loader-m-', { network });
    const to = bcoin.Address.fromWitnessPubkeyhash(Buffer.alloc(20, 7)).toString(getNetwork('test'));
    return mineBlocks(miner, to, BLOCKS);
  })();
  return mined;
}

async function listeningNode(t: ExecutionContext, prefix: string): Promise<{ node: any; host: string }> {
  const [port] = await freePorts(1);
  const node = await inProcessNode(t, prefix, { network, listen: true, host: '127.0.0.1', port });
  await node.connect();
  node.startSync();
  return { node, host: `127.0.0.1:${port}` };
}

async function addBlocks(node: any, blocks: unknown[]): Promise<void> {
  for (const block of blocks) await node.chain.add(block);
}

/** Node N, watched, whose only peer and so loader is the empty node at `empty`; `asked` is about when N sent it the sync request. */
async function newNodeOn(t: ExecutionContext, empty: string): Promise<{ node: any; lines: string[]; asked: number }> {
  const node = await inProcessNode(t, 'cc-loader-n-', { network, nodes: [empty] });
  const lines: string[] = [];
  const watch = new LoaderWatch(node.pool, node.chain, (line) => lines.push(line));
  watch.start();
  t.teardown(() => watch.stop());
  await node.connect();
  node.startSync();
  await waitFor(() => node.pool.peers.load?.handshake && node.pool.peers.load.hostname() === empty, 30_000, 'the empty node as loader', 20);
  return { node, lines, asked: Date.now() };
}

function connect(node: any, host: string): void {
  node.pool.peers.add(node.pool.createOutbound(bcoin.net.NetAddress.fromHostname(host, node.network)));
}

test.serial('a new node whose loader is empty syncs from a peer that has blocks, before bcoin would drop the loader', async (t) => {
  t.timeout(150_000);
  const blocks = await testBlocks(t);
  const e = await listeningNode(t, 'cc-loader-e-');
  const f = await listeningNode(t, 'cc-loader-f-');
  await addBlocks(f.node, blocks);
  const n = await newNodeOn(t, e.host);
  t.false(n.node.chain.synced);

  connect(n.node, f.host);
  await waitFor(() => n.node.chain.height === BLOCKS, n.asked + BOUND_MS - Date.now(), `N at F's height ${BLOCKS}`);
  t.log(`N reached height ${BLOCKS} ${Date.now() - n.asked} ms after it asked E`);
  t.is(n.node.chain.tip.hash, f.node.chain.tip.hash);
  t.is(n.node.pool.peers.load?.hostname(), f.host, 'F is the loader');
  t.deepEqual(n.lines, [`sync peer ${e.host} has nothing for ${LOADER_QUIET_MS / 1000} s; syncing from ${f.host} at height ${BLOCKS}`]);
});

test.serial('a new node whose loader is empty syncs from a peer that announces blocks it took after connecting', async (t) => {
  t.timeout(150_000);
  const blocks = await testBlocks(t);
  const e = await listeningNode(t, 'cc-loader-e-');
  const f = await listeningNode(t, 'cc-loader-f-');
  const n = await newNodeOn(t, e.host);
  connect(n.node, f.host);
  await waitFor(() => n.node.pool.peers.get(f.host)?.handshake, 30_000, 'F connected to N');

  // F was as empty as E when it connected: only its announcements tell N it has blocks now.
  await addBlocks(f.node, blocks);
  await waitFor(() => n.node.chain.height === BLOCKS, n.asked + BOUND_MS - Date.now(), `N at F's height ${BLOCKS}`);
  t.log(`N reached height ${BLOCKS} ${Date.now() - n.asked} ms after it asked E`);
  t.is(n.node.pool.peers.load?.hostname(), f.host, 'F is the loader');
  t.deepEqual(n.lines, [`sync peer ${e.host} has nothing for ${LOADER_QUIET_MS / 1000} s; syncing from ${f.host}, which announced a block this node lacks`]);
});
