/**
 * Real dev nodes for tests: each a detached `cloudcoin node start` process on
 * free 127.0.0.1 ports in its own temporary data directory. Every node a test
 * starts is stopped in its teardown, killed if it does not stop.
 */
import type { ExecutionContext } from 'ava';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePorts } from '../../src/lib/devnet/ports.js';
import { readRuntime, isAlive, readApiKey } from '../../src/lib/node/datafiles.js';
import { cli, cliOk } from './cli.js';

export interface DevNode {
  datadir: string;
  port: number;
  httpPort: number;
  walletPort: number;
  network: string;
  /** Runs a cloudcoin command against this node's data directory, with --json. */
  run(args: string[], env?: Record<string, string | undefined>): ReturnType<typeof cli>;
  start(extra?: string[]): Promise<void>;
  stop(): Promise<void>;
  kill9(): Promise<void>;
  pid(): number | null;
  apiKey(): string;
  /** Authenticated request to the node's HTTP API. */
  http(method: string, path: string, body?: unknown, auth?: boolean): Promise<{ status: number; body: any }>;
}

export function tempDir(t: ExecutionContext, prefix = 'cc-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function devNode(t: ExecutionContext, opts: { network?: string; peers?: DevNode[]; extra?: string[]; start?: boolean; dir?: string } = {}): Promise<DevNode> {
  const datadir = opts.dir ?? join(tempDir(t), 'node');
  const [port, httpPort, walletPort] = await freePorts(3);
  const network = opts.network ?? 'dev';
  const base = ['--datadir', datadir, '--network', network];
  const node: DevNode = {
    datadir, port, httpPort, walletPort, network,
    run: (args, env) => cli([...args, ...base, '--json'], { env }),
    async start(extra = []) {
      const peers = (opts.peers ?? []).map((p) => `127.0.0.1:${p.port}`);
      await cliOk(['node', 'start', '--detach', ...base,
        '--port', String(port), '--http-port', String(httpPort), '--wallet-port', String(walletPort),
        ...(peers.length ? ['--peers', peers.join(',')] : []), ...(opts.extra ?? []), ...extra]);
    },
    async stop() {
      const info = readRuntime(datadir);
      if (!info || !isAlive(info.pid)) return;
      const r = await cli(['node', 'stop', ...base]);
      if (r.code !== 0 && isAlive(info.pid)) process.kill(info.pid, 'SIGKILL');
    },
    async kill9() {
      const info = readRuntime(datadir);
      if (!info) throw new Error('node is not running');
      process.kill(info.pid, 'SIGKILL');
      while (isAlive(info.pid)) await sleep(50);
    },
    pid: () => readRuntime(datadir)?.pid ?? null,
    apiKey: () => readApiKey(datadir) ?? '',
    async http(method, path, body, auth = true) {
      const res = await fetch(`http://127.0.0.1:${httpPort}${path}`, {
        method,
        headers: {
          ...(auth ? { authorization: 'Basic ' + Buffer.from(`x:${node.apiKey()}`).toString('base64') } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: any = text;
      try { parsed = JSON.parse(text); } catch { /* not JSON */ }
      return { status: res.status, body: parsed };
    },
  };
  t.teardown(async () => {
    await node.stop();
  });
  if (opts.start !== false) await node.start();
  return node;
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(check: () => Promise<T> | T, timeoutMs = 30_000, what = 'condition', intervalMs = 150): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** What the node's bcoin wrote to its debug.log, in the directory of its network under the data directory. */
function debugLog(node: DevNode): string {
  for (const dir of existsSync(node.datadir) ? readdirSync(node.datadir) : []) {
    const file = join(node.datadir, dir, 'debug.log');
    if (existsSync(file)) return readFileSync(file, 'utf8');
  }
  return '';
}

/** Waits until the node's debug.log holds `text` (start it with `--log-level debug` for bcoin's peer errors). */
export async function waitForLog(node: DevNode, text: string, timeoutMs = 30_000): Promise<void> {
  await waitFor(() => debugLog(node).includes(text), timeoutMs, `"${text}" in the debug.log of ${node.datadir}`);
}

export async function height(node: DevNode): Promise<number> {
  const r = await node.run(['node', 'status']);
  return r.json?.height ?? -1;
}
