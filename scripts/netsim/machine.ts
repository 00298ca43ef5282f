/**
 * One simulated machine: a namespace running a CloudCoin node (and, for a
 * host, its file server) started with the real CLI inside `ip netns exec`,
 * plus a relay (forward.ts) that lets this process reach the node's HTTP
 * APIs, which listen on the namespace's own 127.0.0.1. Every node uses the
 * dev network's default ports: each machine has an address of its own.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { networkSpec } from '../../src/lib/chain/networks.js';
import { SERVE_LOG_FILE, SERVE_PID_FILE, stopServer } from '../../src/lib/devnet/server-process.js';
import { stopNode } from '../../src/lib/node/control.js';
import { isAlive, liveRuntime, readApiKey, type RuntimeInfo } from '../../src/lib/node/datafiles.js';
import { NodeClient } from '../../src/lib/node/node-client.js';
import type { SimNetwork, Side } from './network.js';
import { splice } from './splice.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const BIN = join(HERE, '..', '..', '..', 'bin', 'run.js');
const FORWARD = join(HERE, 'forward.js');
const DEV = networkSpec('dev');
export const SERVE_PORT = 28480;

export type Role = 'seed' | 'renter' | 'host';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  json: any;
}

/**
 * Waits until `check` holds, polling; fails with `what` (and the last error
 * `check` threw: a node being restarted refuses for a while) after `timeoutMs`.
 */
export async function until<T>(what: string, check: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs: number, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const v = await Promise.resolve().then(check).catch((err) => { last = `: ${(err as Error).message}`; return null; });
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${Math.round(timeoutMs / 1000)} s${last}`);
    await sleep(intervalMs);
  }
}

/** A root-namespace TCP port on 127.0.0.1 relayed to a Unix socket. */
async function relay(socket: string): Promise<Server> {
  const server = createServer((inbound) => splice(inbound, connect(socket)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

export class Machine {
  readonly name: string;
  readonly address: string;
  readonly datadir: string;
  private relays: Server[] = [];
  private apiPorts = { http: 0, wallet: 0 };

  constructor(
    private readonly net: SimNetwork,
    readonly index: number,
    readonly role: Role,
    readonly side: Side,
    runDir: string,
    ordinal: number,
  ) {
    this.name = `${role}${ordinal}`;
    this.address = net.address(index);
    this.datadir = join(runDir, this.name);
  }

  get p2p(): string {
    return `${this.address}:${DEV.port}`;
  }

  get serverUrl(): string {
    return `http://${this.address}:${SERVE_PORT}`;
  }

  /** Runs the CLI inside the machine's namespace with --datadir and --network set. */
  cli(args: string[], timeoutMs = 300_000): Promise<CliResult> {
    const [cmd, argv] = this.net.exec(this.index, [process.execPath, BIN, ...args, '--datadir', this.datadir, '--network', 'dev']);
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    return new Promise((resolve) => child.on('close', (c) => {
      clearTimeout(timer);
      let json: any = null;
      try { json = JSON.parse(stdout); } catch { json = null; }
      resolve({ code: c ?? 1, stdout, stderr, json });
    }));
  }

  async cliOk(args: string[], timeoutMs?: number): Promise<CliResult> {
    const r = await this.cli(args, timeoutMs);
    if (r.code !== 0) throw new Error(`${this.name}: cloudcoin ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    return r;
  }

  /** The relay of the node's HTTP and wallet ports; it outlives node restarts. */
  async startRelay(): Promise<void> {
    mkdirSync(this.datadir, { recursive: true, mode: 0o700 });
    const sockets = { http: join(this.datadir, 'http.sock'), wallet: join(this.datadir, 'wallet.sock') };
    const [cmd, argv] = this.net.exec(this.index, [process.execPath, FORWARD, sockets.http, String(DEV.httpPort), sockets.wallet, String(DEV.walletPort)]);
    spawn(cmd, argv, { stdio: 'ignore', detached: true }).unref();
    await until(`${this.name}'s relay`, () => existsSync(sockets.http) && existsSync(sockets.wallet), 60_000, 50);
    this.relays = [await relay(sockets.http), await relay(sockets.wallet)];
    this.apiPorts = { http: (this.relays[0].address() as AddressInfo).port, wallet: (this.relays[1].address() as AddressInfo).port };
  }

  /** A client of the node's APIs through the relay. */
  client(): NodeClient {
    const runtime = liveRuntime(this.datadir);
    if (!runtime) throw new Error(`${this.name}'s node is not running`);
    const viaRelay: RuntimeInfo = { ...runtime, httpPort: this.apiPorts.http, walletPort: this.apiPorts.wallet };
    return new NodeClient(viaRelay, readApiKey(this.datadir) ?? '');
  }

  /** `node start --detach` bound to the machine's address, knowing the network only through `seeds` (and `peers`). */
  async startNode(seeds: string[], peers: string[] = []): Promise<void> {
    await this.cliOk(['node', 'start', '--detach', '--host', this.address,
      ...seeds.flatMap((s) => ['--seed', s]), ...(peers.length ? ['--peers', peers.join(',')] : [])]);
  }

  async stopNode(): Promise<void> {
    if (liveRuntime(this.datadir)) await stopNode(this.datadir);
  }

  /** `cloudcoin serve` on the machine's address, detached as the devnet runs it; ready once it says it listens. */
  async startServer(): Promise<void> {
    const logPath = join(this.datadir, SERVE_LOG_FILE);
    const log = openSync(logPath, 'w');
    const [cmd, argv] = this.net.exec(this.index, [process.execPath, BIN, 'serve', '--datadir', this.datadir, '--network', 'dev',
      '--host', this.address, '--port', String(SERVE_PORT), '--log-format', 'json', '--json']);
    const child = spawn(cmd, argv, { stdio: ['ignore', log, log], detached: true, env: process.env });
    closeSync(log);
    child.unref();
    writeFileSync(join(this.datadir, SERVE_PID_FILE), `${child.pid}\n`);
    await until(`${this.name}'s file server listening`, () => {
      if (!isAlive(child.pid!)) throw new Error(`${this.name}'s file server exited: ${readFileSync(logPath, 'utf8').trim()}`);
      return readFileSync(logPath, 'utf8').includes('"listening"');
    }, 60_000, 100);
  }

  async stopServer(): Promise<void> {
    await stopServer(this.datadir);
  }

  closeRelays(): void {
    for (const r of this.relays) r.close();
  }
}
