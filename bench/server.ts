/**
 * File server throughput: 4 MiB sector PUT and GET with 1, 16 and 128
 * concurrent clients, each figure beside nginx (Debian's package) serving the
 * same files from disk on 127.0.0.1 in the same run, and both servers'
 * resident memory under that load.
 *
 * The server runs as its own process (as `cloudcoin serve` would), asking a
 * stand-in Negotiator route in this process. Requests are signed before the clock
 * starts, so the figures measure the servers, not the load generator's
 * signing. nginx stores PUTs with its WebDAV module, which does not fsync;
 * the file server fsyncs every sector and its directory before it answers.
 * Each level is bounded in requests and time; everything is stopped and
 * removed at the end. Needs `nginx` on PATH (apt-get install -y nginx).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileServerClient } from '../src/lib/server/file-server-client.js';
import { EMPTY_SHA256, signRequest } from '../src/lib/server/request-auth.js';
import { benchContract, fakeNegotiator, freePort, startFileServer, stopFileServers } from './fileservers.js';
import type { BenchSuite, Figure } from './harness.js';

const SECTOR = 4 * 1024 * 1024;
const LEVELS = [1, 16, 128];
const LEVEL_TIME_MS = 8000;

interface Req {
  method: 'PUT' | 'GET';
  path: string;
  headers: Record<string, string | number>;
  body?: Buffer;
}

interface Run {
  mibPerSecond: number;
  p99Ms: number;
  requests: number;
}

function p99(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))];
}

function send(agent: Agent, port: number, r: Req): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, agent, method: r.method, path: r.path, headers: r.headers }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => (res.statusCode! < 300 ? resolve() : reject(new Error(`${r.method} ${r.path}: HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(r.body);
  });
}

/** Runs `requests` with `concurrency` workers until done or LEVEL_TIME_MS has passed. */
async function load(port: number, concurrency: number, requests: Req[]): Promise<Run> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  const worker = async () => {
    while (next < requests.length && performance.now() - start < LEVEL_TIME_MS) {
      const r = requests[next++];
      const t0 = performance.now();
      await send(agent, port, r);
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  return { mibPerSecond: (latencies.length * SECTOR) / 1048576 / seconds, p99Ms: p99(latencies), requests: latencies.length };
}

function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Samples the peak RSS (MiB) of a process and, for nginx, its workers. */
function rssSampler(pid: number): { stop(): number } {
  let peak = 0;
  const sample = () => {
    let total = rssOf(pid);
    const children = existsSync(`/proc/${pid}/task/${pid}/children`) ? readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim() : '';
    for (const c of children.split(/\s+/).filter(Boolean)) total += rssOf(Number(c));
    peak = Math.max(peak, total);
  };
  const timer = setInterval(sample, 100);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

async function startNginx(dir: string, root: string): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi', 'put']) await mkdir(join(dir, d), { recursive: true });
  const conf = `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
${process.getuid?.() === 0 ? 'user root;' : ''}
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 100000;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    location /put/ { root ${dir}; dav_methods PUT; create_full_put_path on; client_max_body_size 5m; }
    location / { root ${root}; }
  }
}
`;
  await writeFile(join(dir, 'nginx.conf'), conf);
  const child = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    try {
      await send(new Agent(), port, { method: 'GET', path: '/', headers: {} });
      break;
    } catch (err) {
      if (/HTTP/.test((err as Error).message)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { child, port };
}

export const serverBench: BenchSuite = {
  name: 'file server (4 MiB sectors) vs nginx',
  async run(): Promise<Figure[]> {
    const dir = await mkdtemp(join(tmpdir(), 'cc-bench-serve-'));
    const storage = join(dir, 'storage');
    const renters = Array.from({ length: Math.max(...LEVELS) }, () => benchContract(randomBytes(32).toString('hex')));
    const neg = await fakeNegotiator(renters);
    const server = await startFileServer(storage, neg.url);
    const port = server.port;
    const nginx = await startNginx(join(dir, 'nginx'), join(storage, 'sectors'));
    const figures: Figure[] = [];
    try {
      const body = randomBytes(SECTOR);
      const bodySha256 = createHash('sha256').update(body).digest('hex');
      const serveRss = rssSampler(server.child.pid!);
      const nginxRss = rssSampler(nginx.child.pid!);
      for (const c of LEVELS) {
        const n = Math.max(24, 2 * c);
        const sectors = Array.from({ length: n }, (_, i) => ({ renter: renters[i % c], id: randomBytes(32).toString('hex') }));
        const path = (s: (typeof sectors)[number]) => `/v1/contracts/${s.renter.contractId}/sectors/${s.id}`;
        const puts = sectors.map((s) => ({
          method: 'PUT' as const,
          path: path(s),
          body,
          headers: { 'content-length': SECTOR, ...signRequest({ contractId: s.renter.contractId, sectorId: s.id, operation: 'PUT', bodySha256 }, s.renter.keys.secretKey) },
        }));
        // The server asks its Negotiator about at most 64 unknown contracts at once and answers the rest 503
        // (clients retry); the timed load measures serving, so each renter's contract is looked up first.
        for (let i = 0; i < c; i += 32) {
          await Promise.all(renters.slice(i, Math.min(c, i + 32)).map((r) => new FileServerClient({ url: server.url, contractId: r.contractId, secretKey: r.keys.secretKey }).list()));
        }
        const ours = await load(port, c, puts);
        const theirs = await load(nginx.port, c, sectors.map((s) => ({ method: 'PUT', path: `/put/${s.id}`, body, headers: { 'content-length': SECTOR } })));
        const stored = sectors.slice(0, ours.requests);
        const gets = stored.map((s) => ({
          method: 'GET' as const,
          path: path(s),
          headers: signRequest({ contractId: s.renter.contractId, sectorId: s.id, operation: 'GET', bodySha256: EMPTY_SHA256 }, s.renter.keys.secretKey),
        }));
        const oursGet = await load(port, c, gets);
        const theirsGet = await load(nginx.port, c, stored.map((s) => ({ method: 'GET', path: `/${s.renter.contractId}/${s.id.slice(0, 2)}/${s.id}`, headers: {} })));
        const pair = (what: string, a: Run, b: Run) => {
          figures.push({ name: `${what} throughput, ${c} client${c > 1 ? 's' : ''}`, value: a.mibPerSecond, unit: 'MiB/s', reference: { name: 'nginx', value: b.mibPerSecond, unit: 'MiB/s' } });
          figures.push({ name: `${what} p99 latency, ${c} client${c > 1 ? 's' : ''}`, value: a.p99Ms, unit: 'ms', reference: { name: 'nginx', value: b.p99Ms, unit: 'ms' } });
        };
        pair('sector PUT', ours, theirs);
        pair('sector GET', oursGet, theirsGet);
      }
      figures.push({ name: 'file server peak RSS under this load', value: serveRss.stop(), unit: 'MiB', reference: { name: 'nginx master+worker', value: nginxRss.stop(), unit: 'MiB' } });
    } finally {
      nginx.child.kill('SIGQUIT');
      neg.server.close();
      await Promise.all([stopFileServers([server]), new Promise((r) => nginx.child.once('exit', r))]);
      await rm(dir, { recursive: true, force: true });
    }
    return figures;
  },
};
