/**
 * Helpers for the contract acceptance tests: a dev network of real nodes
 * shared by the serial tests of one file (stopped in test.after.always),
 * the nodes' identity keys read from their data directories, and raw
 * transactions put on chain through a node's wallet.
 */
import type { ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { publicKeyOf, type KeyPair } from '../src/lib/crypto/sig.js';
import { Script, type BTX } from '../src/lib/chain/primitives.js';
import { ContractRecord, decodeRecord } from '../src/lib/negotiator/records.js';
import { devNode, waitFor, type DevNode } from './util/devnode.js';
import { TEST_PASSPHRASE } from './util/cli.js';

const require = createRequire(import.meta.url);
const TX = require('bcoin/lib/primitives/tx.js');

/** Teardowns registered by nodes started outside a single test. */
export class Network {
  private readonly teardowns: (() => unknown)[] = [];
  readonly nodes: DevNode[] = [];

  /** An ExecutionContext stand-in for devNode/tempDir: teardowns run in stop(). */
  private get ctx(): ExecutionContext {
    return { teardown: (fn: () => unknown) => this.teardowns.push(fn) } as unknown as ExecutionContext;
  }

  async node(opts: Parameters<typeof devNode>[1] = {}): Promise<DevNode> {
    const n = await devNode(this.ctx, opts);
    this.nodes.push(n);
    return n;
  }

  async stop(): Promise<void> {
    // Nodes first (their teardowns were registered after their directories'), newest first.
    for (const fn of this.teardowns.reverse()) await Promise.resolve(fn()).catch(() => {});
  }
}

export async function ok(node: DevNode, args: string[]): Promise<any> {
  const r = await node.run(args);
  if (r.code !== 0) throw new Error(`cloudcoin ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.json;
}

export async function heightOf(node: DevNode): Promise<number> {
  const r = await node.http('GET', '/cloudcoin/sync');
  return r.status === 200 && r.body.wallet === r.body.chain ? r.body.chain : -1;
}

/** Waits until every node's chain and wallet are at `height`. */
export async function synced(nodes: DevNode[], height: number): Promise<void> {
  let seen: unknown[] = [];
  try {
    await waitFor(async () => {
      seen = await Promise.all(nodes.map(async (n) => (await n.http('GET', '/cloudcoin/sync')).body));
      return seen.every((s: any) => s.chain === height && s.wallet === height);
    }, 30_000, `nodes at height ${height}`);
  } catch (err) {
    throw new Error(`${(err as Error).message}; chain and wallet heights: ${JSON.stringify(seen)}`);
  }
}

export async function mine(miner: DevNode, n: number, all: DevNode[], address?: string): Promise<number> {
  const before = await heightOf(miner);
  await ok(miner, ['node', 'mine', String(n), ...(address ? ['--address', address] : [])]);
  await synced(all, before + n);
  return before + n;
}

export function identity(node: DevNode): KeyPair {
  const secretKey = Buffer.from(readFileSync(join(node.datadir, 'negotiator.key'), 'utf8').trim(), 'hex');
  return { secretKey, publicKey: publicKeyOf(secretKey) };
}

export function keyHex(node: DevNode): string {
  return Buffer.from(identity(node).publicKey).toString('hex');
}

export async function rpc(node: DevNode, method: string, params: unknown[] = []): Promise<any> {
  const r = await node.http('POST', '/', { method, params });
  if (r.body?.error) throw new Error(`${method}: ${r.body.error.message}`);
  return r.body.result;
}

/** A transaction of the node's chain, from the block at `height`. */
export async function txAt(node: DevNode, height: number, txid: string): Promise<BTX> {
  const r = await node.http('GET', `/block/${height}`);
  const tx = r.body.txs.find((t: any) => t.hash === txid);
  if (!tx) throw new Error(`no tx ${txid} at height ${height}`);
  return TX.fromRaw(Buffer.from(tx.hex, 'hex'));
}

/** The contract record in output 0 of a funding transaction. */
export function recordOf(tx: BTX): ContractRecord {
  const rec = decodeRecord(tx.outputs[0].script.getNulldata()!);
  if (!(rec instanceof ContractRecord)) throw new Error('not a contract record');
  return rec;
}

/** Broadcasts a raw transaction; true if the node's mempool took it. */
export async function broadcast(node: DevNode, tx: { toRaw(): Buffer; txid(): string }): Promise<boolean> {
  // bcoin's POST /broadcast answers once its mempool has checked the transaction (sendrawtransaction answers before),
  // so a refusal is known at once. The node's reason goes to the test log: a refusal may be the point of a test, or its failure.
  const r = await node.http('POST', '/broadcast', { tx: tx.toRaw().toString('hex') });
  lastRefusal = r.status === 200 ? 'not in the mempool (bcoin logs the reason in debug.log)' : JSON.stringify(r.body);
  return ((await rpc(node, 'getrawmempool')) as string[]).includes(tx.txid());
}

/** Why the last broadcast() was refused, for test logs. */
export let lastRefusal = '';

/** Puts `data` in output 0 of a transaction from `node`'s wallet (as any user of bcoin's wallet API could). */
export async function putRecord(node: DevNode, data: Buffer): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${node.walletPort}/wallet/primary/send`, {
    method: 'POST',
    headers: { authorization: 'Basic ' + Buffer.from(`x:${node.apiKey()}`).toString('base64'), 'content-type': 'application/json' },
    body: JSON.stringify({ passphrase: TEST_PASSPHRASE, sort: false, outputs: [{ script: Script.fromNulldata(data).toRaw().toString('hex'), value: 0 }] }),
  });
  const body: any = await res.json();
  if (res.status !== 200) throw new Error(`wallet send: ${JSON.stringify(body)}`);
  return body.hash;
}

/** Waits until `node`'s mempool holds every one of `txids` (relayed from where they were broadcast). */
export async function inMempool(node: DevNode, txids: string[]): Promise<void> {
  await waitFor(async () => {
    const pool: string[] = await rpc(node, 'getrawmempool');
    return txids.every((id) => pool.includes(id));
  }, 10_000, `${txids.length} transactions in the miner's mempool`);
}
