/**
 * A whole dev network on this machine: one renter node and N host nodes, each
 * a separate `cloudcoin node start --detach` process with its own data
 * directory and free ports, connected to each other and mined past coinbase
 * maturity so every wallet holds coins. Each host also runs its file server
 * (`cloudcoin serve`) tied to its node; with `contracts`, the renter holds an
 * active contract with every host (contracts.ts). devnet.json in the devnet directory
 * records who is who; `down` stops exactly the processes `up` started.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CloudCoinError, ExitCode } from '../errors.js';
import { NodeClient } from '../node/node-client.js';
import { startDetached, stopNodeOrKill } from '../node/control.js';
import { liveRuntime } from '../node/datafiles.js';
import { receiveAddress, getBalance } from '../wallet/wallet.js';
import { waitWalletSynced } from '../node/status.js';
import { freePorts } from './ports.js';
import { startServerDetached, stopServer } from './server-process.js';
import { catchUp } from './catch-up.js';
import { contractDevnetHosts, type DevnetContract } from './contracts.js';
import type { Participant } from './participant.js';

export const DEVNET_FILE = 'devnet.json';
/** The devnet's wallets are throwaway keys on a private chain; this passphrase is documented, not secret. */
export const DEVNET_PASSPHRASE = 'devnet';
const COINBASE_MATURITY = 100;
const BLOCKS_EACH = 2;
const PORT_ATTEMPTS = 3;

export interface Devnet {
  dir: string;
  network: 'dev';
  participants: Participant[];
  height: number;
  /** With `contracts`: the renter's active contract with each host. */
  contracts?: DevnetContract[];
}

export interface UpOptions {
  dir?: string;
  hosts: number;
  /** Path of bin/run.js. */
  bin: string;
  extensions?: string[];
  /** Each host offers storage at its file server and the renter contracts every host (contracts.ts). */
  contracts?: boolean;
}

export function defaultDevnetDir(): string {
  return join(homedir(), '.cloudcoin', 'devnet');
}

export function readDevnet(dir: string): Devnet | null {
  const path = join(dir, DEVNET_FILE);
  if (!existsSync(path)) return null;
  return JSON.parse(readFileSync(path, 'utf8')) as Devnet;
}

function passphraseEnv(): void {
  process.env.CLOUDCOIN_PASSPHRASE ??= DEVNET_PASSPHRASE;
}

async function startParticipant(bin: string, p: Omit<Participant, 'pid' | 'address'>, peers: string[], extensions: string[]): Promise<number> {
  const args = [
    'node', 'start', '--network', 'dev', '--datadir', p.datadir,
    '--port', String(p.port), '--http-port', String(p.httpPort), '--wallet-port', String(p.walletPort),
    ...(peers.length ? ['--peers', peers.join(',')] : []),
    ...extensions.flatMap((e) => ['--ext', e]),
  ];
  return (await startDetached(bin, args, p.datadir)).pid;
}

/** Without a new block anywhere for this long, the nodes behind are handed the blocks they lack (catch-up.ts). */
const STALL_MS = 15_000;

/** Waits until every node has at least one peer and all agree on the tip. */
async function waitConverged(participants: Participant[], timeoutMs = 120_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  const clients = participants.map((p) => NodeClient.connect(p.datadir));
  let heights = '';
  let movedAt = Date.now();
  for (;;) {
    const infos = await Promise.all(clients.map((c) => c.node('GET', '/')));
    const tips = new Set(infos.map((i) => i.chain.tip));
    const connected = infos.every((i) => i.pool.inbound + i.pool.outbound > 0) || participants.length === 1;
    if (tips.size === 1 && connected) return infos[0].chain.height;
    const now = infos.map((i) => i.chain.height).join(',');
    if (now !== heights) [heights, movedAt] = [now, Date.now()];
    if (tips.size > 1 && Date.now() - movedAt > STALL_MS) {
      const best = infos.reduce((b, i, k) => (i.chain.height > infos[b].chain.height ? k : b), 0);
      await Promise.all(clients.filter((_, k) => infos[k].chain.height < infos[best].chain.height).map((c) => catchUp(clients[best], c)));
      movedAt = Date.now();
    }
    if (Date.now() > deadline) {
      const each = participants.map((p, i) => `${p.name} height ${infos[i].chain.height} peers ${infos[i].pool.inbound + infos[i].pool.outbound}`).join(', ');
      throw new CloudCoinError('EDEVNET', `the devnet nodes did not converge on one tip within ${timeoutMs / 1000} s (${each}); their logs are in ${dirname(participants[0].datadir)}`);
    }
    await sleep(200);
  }
}

export async function devnetUp(opts: UpOptions): Promise<Devnet> {
  if (!Number.isInteger(opts.hosts) || opts.hosts < 0 || opts.hosts > 32) {
    throw new CloudCoinError('EBADHOSTS', '--hosts must be from 0 to 32', ExitCode.usage);
  }
  passphraseEnv();
  const dir = resolve(opts.dir ?? defaultDevnetDir());
  const existing = readDevnet(dir);
  if (existing?.participants.some((p) => liveRuntime(p.datadir))) {
    throw new CloudCoinError('ERUNNING', `a devnet is already running in ${dir}; stop it with: cloudcoin devnet down --dir ${dir}`, ExitCode.conflict);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const names = ['renter', ...Array.from({ length: opts.hosts }, (_, i) => `host${i + 1}`)];
  const extensions = opts.extensions ?? [];
  const started: Participant[] = [];
  try {
    for (let attempt = 1; ; attempt++) {
      const planned = existing?.participants.length === names.length ? existing.participants : await planParticipants(dir, names);
      try {
        await startParticipants(opts.bin, planned, extensions, started);
        break;
      } catch (err) {
        // A port chosen free can still be taken before the node binds it (ports.ts); fresh ones are worth one more try.
        if (!(err instanceof CloudCoinError && err.code === 'EPORTINUSE') || attempt === PORT_ATTEMPTS || existing) throw err;
        await stopAll(started.splice(0));
      }
    }
    for (const p of started) p.address = await receiveAddress(NodeClient.connect(p.datadir));

    const miner = NodeClient.connect(started[0].datadir);
    const height = (await miner.node('GET', '/')).chain.height;
    if (!existing || height < COINBASE_MATURITY) {
      // The renter funds one contract a host, each from a coin of its own: a change output
      // is unconfirmed until the next block, so it cannot fund the next contract.
      for (const p of started) await miner.rpc('generatetoaddress', [p.role === 'renter' ? BLOCKS_EACH + started.length - 1 : BLOCKS_EACH, p.address]);
      await miner.rpc('generatetoaddress', [COINBASE_MATURITY, started[0].address]);
    }
    let converged = await waitConverged(started);
    await Promise.all(started.map((p) => waitWalletSynced(NodeClient.connect(p.datadir))));
    const contracts = opts.contracts ? await contractDevnetHosts(started) : undefined;
    if (contracts) converged = await waitConverged(started);
    const devnet: Devnet = { dir, network: 'dev', participants: started, height: converged, ...(contracts ? { contracts } : {}) };
    writeFileSync(join(dir, DEVNET_FILE), JSON.stringify(devnet, null, 2) + '\n');
    return devnet;
  } catch (err) {
    await stopAll(started);
    throw err;
  }
}

async function stopAll(started: Participant[]): Promise<void> {
  await Promise.allSettled(started.map((p) => stopServer(p.datadir)));
  await Promise.allSettled(started.map((p) => stopNodeOrKill(p.datadir, DOWN_GRACE_MS)));
}

async function planParticipants(dir: string, names: string[]): Promise<Omit<Participant, 'pid' | 'address'>[]> {
  const ports = await freePorts(names.length * 4);
  return names.map((name, i) => ({
    name,
    role: (i === 0 ? 'renter' : 'host') as Participant['role'],
    datadir: join(dir, name),
    port: ports[i * 4],
    httpPort: ports[i * 4 + 1],
    walletPort: ports[i * 4 + 2],
    serverPort: i === 0 ? undefined : ports[i * 4 + 3],
  }));
}

/** Starts the renter, then every host dialling those before it, then the hosts' file servers; each one in `started` as soon as it runs. */
async function startParticipants(bin: string, planned: Omit<Participant, 'pid' | 'address'>[], extensions: string[], started: Participant[]): Promise<void> {
  const [renter, ...hosts] = planned;
  const renterPid = await startParticipant(bin, renter, [], extensions);
  started.push({ ...renter, pid: renterPid, address: '' });
  const hostPids = await Promise.allSettled(hosts.map((h, i) => {
    const peers = [renter, ...hosts.slice(0, i)].map((p) => `127.0.0.1:${p.port}`);
    return startParticipant(bin, h, peers, extensions);
  }));
  hosts.forEach((h, i) => { if (hostPids[i].status === 'fulfilled') started.push({ ...h, pid: (hostPids[i] as PromiseFulfilledResult<number>).value, address: '' }); });
  const failed = hostPids.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  await Promise.all(started.filter((p) => p.serverPort).map(async (p) => {
    p.serverUrl = (await startServerDetached(bin, p.datadir, p.serverPort!)).url;
  }));
}

export interface ParticipantStatus extends Participant {
  running: boolean;
  height: number | null;
  peers: number | null;
  balance: number | null;
}

export async function devnetStatus(dirOpt?: string): Promise<{ dir: string; participants: ParticipantStatus[] }> {
  const dir = resolve(dirOpt ?? defaultDevnetDir());
  const devnet = readDevnet(dir);
  if (!devnet) throw new CloudCoinError('ENODEVNET', `no devnet in ${dir}; start one with: cloudcoin devnet up`, ExitCode.nodeNotRunning);
  const participants = await Promise.all(devnet.participants.map(async (p): Promise<ParticipantStatus> => {
    if (!liveRuntime(p.datadir)) return { ...p, running: false, height: null, peers: null, balance: null };
    const client = NodeClient.connect(p.datadir);
    const info = await client.node('GET', '/');
    const balance = await getBalance(client);
    return { ...p, running: true, height: info.chain.height, peers: info.pool.inbound + info.pool.outbound, balance: balance.confirmed };
  }));
  return { dir, participants };
}

export interface DownResult {
  dir: string;
  /** Every node that was running. */
  stopped: string[];
  /** Those that did not stop within DOWN_GRACE_MS of SIGTERM and were killed. */
  killed: string[];
}

/**
 * How long `devnet down` gives each node's graceful stop. A devnet is for
 * development and tests: a node whose stop hangs is killed rather than left
 * running (its LevelDB stores recover from that as from a crash), and named.
 */
const DOWN_GRACE_MS = 60_000;

export async function devnetDown(dirOpt?: string, clean = false): Promise<DownResult> {
  const dir = resolve(dirOpt ?? defaultDevnetDir());
  const devnet = readDevnet(dir);
  if (!devnet) throw new CloudCoinError('ENODEVNET', `no devnet in ${dir}`, ExitCode.nodeNotRunning);
  await Promise.all(devnet.participants.map((p) => stopServer(p.datadir)));
  const running = devnet.participants.filter((p) => liveRuntime(p.datadir));
  const killed: string[] = [];
  await Promise.all(running.map(async (p) => {
    if (!await stopNodeOrKill(p.datadir, DOWN_GRACE_MS)) killed.push(p.name);
  }));
  if (clean) rmSync(dir, { recursive: true, force: true });
  return { dir, stopped: running.map((p) => p.name), killed };
}
