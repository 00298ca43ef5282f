/**
 * The file server for tests: `cloudcoin serve` as a real child process,
 * stopped (SIGTERM, then SIGKILL) in the test's teardown; startFileServer in
 * the test's process, with contracts the test sets, closed and removed on
 * teardown; or a devnet whose host serves a contract negotiated on real nodes.
 */
import type { ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair } from '../../src/lib/crypto/sig.js';
import { freePorts } from '../../src/lib/devnet/ports.js';
import { FileServerClient, startFileServer, type ContractAuthority, type FileServerOptions, type ServedContract } from '../../src/lib/server/index.js';
import { BIN, TEST_PASSPHRASE, cli, cliOk } from './cli.js';
import { tempDir } from './devnode.js';

/**
 * A server on 127.0.0.1 whose authority answers from `contracts`, which the
 * test may change (through the server's cache: give `cache` short TTLs to see
 * changes at once). Its JSON log lines are in `lines`.
 */
export async function inProcessServer(t: ExecutionContext, options: Partial<FileServerOptions> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'cc-serve-'));
  const renter = generateKeyPair();
  const contracts = new Map<string, ServedContract>();
  const addContract = (over: Partial<ServedContract> = {}) => {
    const c: ServedContract = { contractId: randomBytes(32).toString('hex'), renterKey: Buffer.from(renter.publicKey).toString('hex'), sizeBytes: 16 << 20, state: 'active', ...over };
    contracts.set(c.contractId, c);
    return c.contractId;
  };
  const authority: ContractAuthority = { lookup: async (id) => contracts.get(id) ?? null };
  const lines: string[] = [];
  const server = await startFileServer({ storageDir: dir, authority, logFormat: 'json', log: (l) => lines.push(l), ...options });
  t.teardown(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  const clientFor = (cid: string, secretKey = renter.secretKey) => new FileServerClient({ url: server.url, contractId: cid, secretKey, retries: 0 });
  return { dir, server, renter, contracts, addContract, clientFor, lines };
}

export interface ServeProcess {
  url: string;
  port: number;
  child: ChildProcess;
  stderr(): string;
  stop(): Promise<number>;
}

export async function serveProcess(t: ExecutionContext, args: string[], env: Record<string, string> = {}): Promise<ServeProcess> {
  const [port] = await freePorts(1);
  const child = spawn(process.execPath, [BIN, 'serve', '--port', String(port), '--host', '127.0.0.1', '--json', ...args], {
    env: { ...process.env, NODE_ENV: '', CLOUDCOIN_PASSPHRASE: TEST_PASSPHRASE, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => { err += d; });
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  t.teardown(() => stop().then(() => undefined));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('"listening"')) resolve();
    });
    exited.then((code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
  return { url: `http://127.0.0.1:${port}`, port, child, stderr: () => err, stop };
}

/** A one-host devnet (down on teardown) with an 8 MiB contract of `duration` blocks, funded. */
export async function negotiated(t: ExecutionContext, duration: number) {
  const dir = join(tempDir(t), 'devnet');
  t.teardown(() => cli(['devnet', 'down', '--dir', dir]).then(() => undefined));
  const { participants } = (await cliOk(['devnet', 'up', '--hosts', '1', '--dir', dir, '--json'])).json;
  const [renter, host] = participants;
  const offer = (await cliOk(['contract', 'offer', '--datadir', host.datadir, '--price', '10', '--collateral', '20',
    '--min-size', '1MiB', '--min-duration', '10', '--url', host.serverUrl, '--json'])).json.offer;
  const accepted = await cliOk(['contract', 'accept', offer.hash, '--size', '8MiB', '--duration', String(duration), '--datadir', renter.datadir, '--json']);
  await cliOk(['node', 'mine', '1', '--datadir', renter.datadir]);
  const renterKey = Buffer.from(readFileSync(join(renter.datadir, 'negotiator.key'), 'utf8').trim(), 'hex');
  return { renter, host, contractId: accepted.json.negotiation.contractId as string, renterKey };
}
