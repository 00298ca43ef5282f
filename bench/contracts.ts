/**
 * Contracts over real nodes: a renter and 10 host node processes on
 * 127.0.0.1 (the dev network, blocks on demand). Figures: how long offers
 * take to reach the renter, and negotiations per second, offer seen →
 * contract funded, with 50 negotiations running at once (5 per host) — each
 * propose, counter/accept, both signatures, both funding shares and the
 * funding transaction through the mempool — beside the same work in one
 * process (bench/negotiator.ts) as the reference.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePorts } from '../src/lib/devnet/ports.js';
import { readApiKey } from '../src/lib/node/datafiles.js';
import type { BenchSuite, Figure } from './harness.js';

/** The repository root (this file runs from bench/ under tsx or from dist/bench/). */
function _root(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'bin', 'run.js'))) dir = dirname(dir);
  return dir;
}

const BIN = join(_root(), 'bin', 'run.js');
const PASSPHRASE = 'bench passphrase';

interface DevNode {
  datadir: string;
  port: number;
  walletPort: number;
  run(args: string[]): Promise<{ code: number; json: any; stderr: string }>;
  http(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
}

async function devNode(base: string, peers: DevNode[] = []): Promise<DevNode> {
  const datadir = mkdtempSync(join(base, 'node-'));
  const [port, httpPort, walletPort] = await freePorts(3);
  const where = ['--datadir', datadir, '--network', 'dev'];
  const node: DevNode = {
    datadir,
    port,
    walletPort,
    async run(args) {
      try {
        const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args, ...where, '--json'], { env: { ...process.env, CLOUDCOIN_PASSPHRASE: PASSPHRASE }, maxBuffer: 64 << 20 });
        return { code: 0, json: JSON.parse(stdout), stderr };
      } catch (err: any) {
        return { code: err.code ?? 1, json: null, stderr: String(err.stderr ?? err.message) };
      }
    },
    async http(method, path, body) {
      const res = await fetch(`http://127.0.0.1:${path.startsWith('/wallet/') ? walletPort : httpPort}${path}`, {
        method,
        headers: { authorization: 'Basic ' + Buffer.from(`x:${readApiKey(datadir)}`).toString('base64'), 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() };
    },
  };
  await ok(node, ['node', 'start', '--detach', '--port', String(port), '--http-port', String(httpPort), '--wallet-port', String(walletPort),
    ...(peers.length ? ['--peers', peers.map((p) => `127.0.0.1:${p.port}`).join(',')] : [])]);
  return node;
}

async function waitFor<T>(check: () => Promise<T>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const HOSTS = 10;
const CONCURRENT = 50;

async function ok(node: DevNode, args: string[]): Promise<any> {
  const r = await node.run(args);
  if (r.code !== 0) throw new Error(`cloudcoin ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.json;
}

async function atHeight(nodes: DevNode[], height: number): Promise<void> {
  let seen: { chain: number; wallet: number }[] = [];
  await waitFor(async () => {
    seen = await Promise.all(nodes.map(async (n) => (await n.http('GET', '/cloudcoin/sync')).body));
    return seen.every((s) => s.chain === height && s.wallet === height);
  }, 120_000, `nodes at height ${height}`).catch((err) => {
    throw new Error(`${err.message}: ${JSON.stringify(seen)}`);
  });
}

async function run(): Promise<Figure[]> {
  const base = mkdtempSync(join(tmpdir(), 'cc-bench-contracts-'));
  const all: DevNode[] = [];
  try {
    // bcoin takes 8 inbound and 8 outbound peers: the renter dials half the hosts, the other half dial it.
    const dialed = await Promise.all(Array.from({ length: HOSTS / 2 }, () => devNode(base)));
    all.push(...dialed);
    const renter = await devNode(base, dialed);
    all.push(renter);
    const dialing = await Promise.all(Array.from({ length: HOSTS / 2 }, () => devNode(base, [renter])));
    all.push(...dialing);
    const hosts = [...dialed, ...dialing];
    // One confirmed coin per negotiation on each side (shares lock whole coins, and change is unconfirmed):
    // a matured coinbase split into 0.01 CC outputs, 50 to the renter and 5 to each host, in one block.
    await ok(renter, ['node', 'mine', '101']);
    const perHost = CONCURRENT / HOSTS;
    const own = (await ok(renter, ['wallet', 'address'])).address;
    const outputs = [
      ...Array.from({ length: CONCURRENT }, () => ({ address: own, value: 1_000_000 })),
      ...(await Promise.all(hosts.map(async (h) => (await ok(h, ['wallet', 'address'])).address))).flatMap((address) => Array.from({ length: perHost }, () => ({ address, value: 1_000_000 }))),
    ];
    const split = await renter.http('POST', '/wallet/primary/send', { passphrase: PASSPHRASE, outputs });
    if (split.status !== 200) throw new Error(`split: ${JSON.stringify(split.body)}`);
    await ok(renter, ['node', 'mine', '1']);
    const height = 102;
    await atHeight(all, height);

    const t0 = performance.now();
    const offers: string[] = await Promise.all(hosts.map(async (h) => (await ok(h, ['contract', 'offer', '--price', '0.001', '--collateral', '0.002',
      '--min-duration', '10', '--url', 'http://127.0.0.1:9000', '--capacity', '10TiB'])).offer.hash));
    await waitFor(async () => (await renter.http('GET', '/ext/negotiator/offers')).body.offers.length === HOSTS, 60_000, 'offers at the renter');
    const spread = performance.now() - t0;

    const t1 = performance.now();
    const results = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => renter.http('POST', '/ext/negotiator/negotiate', {
      offer: offers[i % HOSTS], size: 10 * 1024 ** 3, duration: 144, timeout: 120_000,
    })));
    const negotiated = performance.now() - t1;
    const funded = results.filter((r) => r.status === 200 && r.body.outcome === 'funded').length;
    // A figure short of CONCURRENT says why, so a run that funded fewer can be read.
    const why = new Map<string, number>();
    for (const r of results) {
      if (r.status === 200 && r.body.outcome === 'funded') continue;
      const what = r.status !== 200 ? `HTTP ${r.status} ${r.body?.error?.code ?? ''}` : `${r.body.outcome}${r.body.reason ? ` (${r.body.reason})` : ''}${r.body.error ? `: ${r.body.error.message}` : ''}`;
      why.set(what, (why.get(what) ?? 0) + 1);
    }
    for (const [what, n] of why) process.stderr.write(`contracts: ${n} of ${CONCURRENT} not funded: ${what}\n`);
    await ok(renter, ['node', 'mine', '1']);
    await atHeight([renter], height + 1);
    const onChain = (await renter.http('GET', '/ext/negotiator/contracts')).body.contracts.length;
    const mined = performance.now() - t1;
    return [
      { name: `offers: ${HOSTS} hosts' offers seen by the renter`, value: spread, unit: 'ms' },
      { name: `live negotiations funded (of ${CONCURRENT} at once, ${HOSTS} hosts)`, value: funded, unit: 'contracts' },
      { name: 'live negotiations, offer seen → funding broadcast', value: (funded * 1000) / negotiated, unit: 'neg/s' },
      { name: 'live negotiations, … → mined and indexed', value: (onChain * 1000) / mined, unit: 'neg/s', reference: { name: 'contracts indexed', value: onChain, unit: '' } },
    ];
  } finally {
    await Promise.all(all.map((n) => n.run(['node', 'stop'])));
    rmSync(base, { recursive: true, force: true });
  }
}

export const contractsBench: BenchSuite = { name: 'contracts (live nodes)', run };
