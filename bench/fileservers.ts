/**
 * File servers for the benches, as `cloudcoin serve` runs them: each its own
 * process on 127.0.0.1, asking a stand-in Negotiator route in the bench's
 * process about the bench's contracts (always active, 1 TiB), with rate
 * limiting out of the way and no request log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { generateKeyPair, type KeyPair } from '../src/lib/crypto/sig.js';
import type { ContractInfo } from '../src/lib/negotiator/entries.js';

/** A contract the stand-in Negotiator vouches for, with its renter's keys. */
export interface BenchContract {
  contractId: string;
  keys: KeyPair;
}

export interface BenchServer {
  url: string;
  port: number;
  child: ChildProcess;
  storage: string;
}

export async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

export function waitForLine(child: ChildProcess, re: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
      const m = re.exec(out);
      if (m) resolve(m);
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}`)));
  });
}

export function benchContract(contractId: string): BenchContract {
  return { contractId, keys: generateKeyPair() };
}

/** A stand-in Negotiator route answering for `contracts`, all with one host, and with that host's identity. */
export async function fakeNegotiator(contracts: BenchContract[]): Promise<{ server: Server; url: string }> {
  const hostKey = Buffer.from(generateKeyPair().publicKey).toString('hex');
  const known = new Map<string, Pick<ContractInfo, 'id' | 'state' | 'renterKey' | 'hostKey' | 'size'>>(
    contracts.map((c) => [c.contractId, { id: c.contractId, state: 'active', renterKey: Buffer.from(c.keys.publicKey).toString('hex'), hostKey, size: 2 ** 40 }]),
  );
  const server = createServer((req, res) => {
    const c = req.url === '/ext/negotiator/identity' ? { key: hostKey, host: null } : known.get((req.url ?? '').split('/').pop() ?? '');
    res.writeHead(c ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(c ?? {}));
  }).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function _serverArgs(): string[] {
  const js = fileURLToPath(new URL('../src/lib/server/bundle-main.js', import.meta.url));
  if (existsSync(js)) return [js];
  return ['--import=tsx', fileURLToPath(new URL('../src/lib/server/bundle-main.ts', import.meta.url))];
}

/** Starts a file server storing under `storage`; resolves once it listens. */
export async function startFileServer(storage: string, negotiatorUrl: string): Promise<BenchServer> {
  const port = await freePort();
  const args = [..._serverArgs(), '--storage', storage, '--port', String(port), '--host', '127.0.0.1', '--negotiator', negotiatorUrl, '--rate-limit', '1000000', '--log-format', 'none'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await waitForLine(child, /listening on/);
  return { url: `http://127.0.0.1:${port}`, port, child, storage };
}

/** Stops servers gracefully and waits for them to exit. */
export async function stopFileServers(servers: BenchServer[]): Promise<void> {
  await Promise.all(
    servers.map((s) => {
      if (s.child.exitCode !== null) return undefined;
      const exited = new Promise((r) => s.child.once('exit', r));
      s.child.kill('SIGTERM');
      return exited;
    }),
  );
}
