import test, { type ExecutionContext } from 'ava';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildServerBundle } from '../scripts/build-server.js';
import { generateKeyPair } from '../src/lib/crypto/sig.js';
import type { ContractInfo } from '../src/lib/negotiator/entries.js';
import { FileServerClient, FileServerError, startFileServer } from '../src/lib/server/index.js';
import { EMPTY_SHA256, signRequest } from '../src/lib/server/request-auth.js';
import { mountTmpfs, tmpfsUnavailable, unmount } from './util/mount.js';

const repo = dirname(dirname(fileURLToPath(import.meta.url)));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const newId = () => randomBytes(32).toString('hex');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cc-serve-proc-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A renter, one live contract with the host, and a stand-in Negotiator route serving it and the host's identity (basic auth x:key).
 * `state.down` makes it answer 500; `state.lookups` counts the contract lookups it was asked.
 */
async function negotiator(t: ExecutionContext) {
  const renter = generateKeyPair();
  const host = generateKeyPair();
  const contract: Pick<ContractInfo, 'id' | 'state' | 'renterKey' | 'hostKey' | 'size'> = { id: newId(), state: 'active', renterKey: hex(renter.publicKey), hostKey: hex(host.publicKey), size: 1 << 30 };
  const answers = new Map<string, object>([[`/ext/negotiator/contracts/${contract.id}`, contract], ['/ext/negotiator/identity', { key: contract.hostKey, host: null }]]);
  const state = { down: false, lookups: 0 };
  const srv = createServer((req, res) => {
    if (req.url?.startsWith('/ext/negotiator/contracts/')) state.lookups++;
    if (state.down) return void res.writeHead(500).end();
    const answer = req.headers.authorization === `Basic ${Buffer.from('x:k').toString('base64')}` ? answers.get(req.url ?? '') : undefined;
    res.writeHead(answer ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(answer ?? {}));
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  t.teardown(() => void srv.close());
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  return { renter, contract, url, state };
}

/** Starts a server process (`args` after node) and resolves with its URL from the "listening on" line; SIGKILLed on teardown. */
async function spawnServer(t: ExecutionContext, args: string[], cwd: string, env = process.env): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => void child.kill('SIGKILL'));
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (http:\S+)|"event":"listening","url":"(http:[^"]+)"/.exec(out);
      if (m) resolve(m[1] ?? m[2]);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${err}`)));
    setTimeout(() => reject(new Error(`server did not start in 20 s: ${out}${err}`)), 20_000).unref();
  });
  return { child, url };
}

test('kill -9 during 100 concurrent uploads: after a restart every acknowledged sector is intact, nothing partial is visible', async (t) => {
  const dir = await tempDir(t);
  const neg = await negotiator(t);
  const args = ['--import=tsx', 'src/lib/server/bundle-main.ts', '--storage', dir, '--port', '0', '--host', '127.0.0.1', '--negotiator', neg.url, '--api-key', 'k', '--log-format', 'none'];
  const first = await spawnServer(t, args, repo);
  const client = new FileServerClient({ url: first.url, contractId: neg.contract.id, secretKey: neg.renter.secretKey, retries: 0 });
  // ~75 MiB in all, so that most uploads are still streaming when the first is acknowledged
  // (waiting for a later one let a loaded machine finish them all before the kill).
  const sectors = Array.from({ length: 100 }, () => ({ id: newId(), data: randomBytes(512 * 1024 + Math.floor(Math.random() * 512 * 1024)) }));
  const intended = new Map(sectors.map((s) => [s.id, sha(s.data)]));
  const acked: string[] = [];
  let killed = false;
  const uploads = sectors.map((s) =>
    client.put(s.id, s.data).then(() => {
      acked.push(s.id);
      if (acked.length === 1 && !killed) {
        killed = true;
        first.child.kill('SIGKILL');
      }
    }),
  );
  const results = await Promise.allSettled(uploads);
  t.true(killed, 'the server was killed mid-run');
  t.true(results.some((r) => r.status === 'rejected'), 'some uploads were cut off');
  t.true(acked.length >= 1 && acked.length < 100, `acknowledged ${acked.length}`);
  t.log(`${acked.length} of 100 uploads acknowledged before the kill`);

  // On disk, before any restart: every file under sectors/ is a complete sector.
  const visible = (await readdir(join(dir, 'sectors'), { recursive: true })).filter((f) => /[0-9a-f]{2}\/[0-9a-f]{64}$/.test(f));
  for (const f of visible) t.is(sha(await readFile(join(dir, 'sectors', f))), intended.get(f.slice(-64)) ?? 'not an upload', `${f} is whole`);

  const second = await spawnServer(t, args, repo);
  const again = new FileServerClient({ url: second.url, contractId: neg.contract.id, secretKey: neg.renter.secretKey, retries: 0 });
  for (const id of acked) t.is(sha(await again.get(id)), intended.get(id) ?? 'not an upload', `acknowledged ${id} intact`);
  const listing = await again.list();
  t.true(listing.sectors.length >= acked.length);
  for (const s of listing.sectors) t.is(s.size, sectors.find((x) => x.id === s.id)!.data.length, 'listed sectors are whole');
  t.deepEqual(await readdir(join(dir, 'tmp')), [], 'interrupted uploads were discarded at restart');
  t.is(listing.usedBytes, listing.sectors.reduce((n, s) => n + s.size, 0), 'usage recounted from disk');
  const third = spawn(process.execPath, args, { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] });
  let complaint = '';
  third.stderr.on('data', (d) => (complaint += d));
  t.is((await once(third, 'exit'))[0], 7, 'a second server on the same directory refuses to start');
  t.regex(complaint, new RegExp(`in use by process ${second.child.pid}`));
  second.child.kill('SIGTERM');
  t.is((await once(second.child, 'exit'))[0], 0, 'SIGTERM stops it cleanly');
  t.false(existsSync(join(dir, 'lock')), 'and releases the directory');
});

const mountError = tmpfsUnavailable();

(mountError === null ? test : test.skip)(`a full disk answers 507 and loses nothing stored${mountError ? ` (skipped: cannot mount a 1 MiB tmpfs: ${mountError})` : ''}`, async (t) => {
  const dir = await tempDir(t);
  t.is(mountTmpfs(dir, '1m'), null);
  // ava runs teardowns last-registered first: the server closes, then this unmounts, then the dir goes.
  t.teardown(() => unmount(dir));
  const renter = generateKeyPair();
  const contractId = newId();
  const authority = { lookup: async () => ({ contractId, renterKey: hex(renter.publicKey), sizeBytes: 1 << 30, state: 'active' as const }) };
  const server = await startFileServer({ storageDir: dir, authority, logFormat: 'none' });
  t.teardown(() => server.close());
  const client = new FileServerClient({ url: server.url, contractId, secretKey: renter.secretKey, retries: 0 });
  const stored: { id: string; data: Buffer }[] = [];
  let full: unknown;
  for (let i = 0; i < 10 && !full; i++) {
    const s = { id: newId(), data: randomBytes(300 * 1024) };
    try {
      await client.put(s.id, s.data);
      stored.push(s);
    } catch (err) {
      full = err;
    }
  }
  t.true(full instanceof FileServerError && full.status === 507 && full.code === 'full', String(full));
  t.true(stored.length >= 1 && stored.length <= 3, `stored ${stored.length} before the disk filled`);
  for (const s of stored) t.is(sha(await client.get(s.id)), sha(s.data));
  t.deepEqual(await readdir(join(dir, 'tmp')), [], 'the failed upload left no temp file');
  t.is((await client.list()).usedBytes, stored.length * 300 * 1024);
  t.true(await client.delete(stored[0].id));
  await client.put(newId(), randomBytes(300 * 1024));
});

test('the single-file bundle starts and serves from a directory without node_modules', async (t) => {
  const dir = await tempDir(t);
  const { outfile, bytes } = await buildServerBundle(join(dir, 'cloudcoin-serve.mjs'));
  t.true(bytes > 10_000);
  for (let d = dir; d !== dirname(d); d = dirname(d)) t.false(existsSync(join(d, 'node_modules')), `no node_modules in ${d}`);
  const neg = await negotiator(t);
  // A clean environment (no NODE_OPTIONS loader); the API key comes from the environment.
  const env = { PATH: process.env.PATH ?? '', CLOUDCOIN_API_KEY: 'k' };
  const args = [outfile, '--storage', join(dir, 'store'), '--port', '0', '--host', '127.0.0.1', '--negotiator', neg.url, '--log-format', 'json'];
  const { child, url } = await spawnServer(t, args, dir, env);
  const client = new FileServerClient({ url, contractId: neg.contract.id, secretKey: neg.renter.secretKey, retries: 0 });
  const id = newId();
  const data = randomBytes(100_000);
  await client.put(id, data);
  t.is(sha(await client.get(id)), sha(data));
  t.deepEqual((await client.list()).sectors, [{ id, size: data.length }]);
  child.kill('SIGTERM');
  t.is((await once(child, 'exit'))[0], 0);
});

/** Resident memory of process `pid`, in bytes. */
function rssOf(pid: number): number {
  return Number(execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).trim()) * 1024;
}

/**
 * One GET through `agent`; resolves with the answer's status and error code. A
 * kept connection the server closes as the request goes out is asked again on
 * a new one (nothing was answered on it).
 */
async function signedGet(url: string, headers: Record<string, string>, agent: Agent): Promise<{ status: number; code: string }> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await _get(url, headers, agent);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET' || attempt >= 2) throw err;
    }
  }
}

function _get(url: string, headers: Record<string, string>, agent: Agent): Promise<{ status: number; code: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, code: (JSON.parse(body || '{}') as { error?: { code?: string } }).error?.code ?? '' }));
    });
    req.on('error', reject).end();
  });
}

const FLOOD = 25_000;
const FLOOD_ADDRESSES = 500;
/** docs/server.md, "Limits and safety": what a flood may add to the server's RSS after its first tenth. */
const FLOOD_RSS_BOUND = 128 * 1024 * 1024;

test.serial(`${FLOOD} validly signed requests from fresh keys for made-up contracts: every cache stays under its cap, RSS under its bound, the real contract stays cached`, async (t) => {
  const dir = await tempDir(t);
  const neg = await negotiator(t);
  t.timeout(20 * 60_000, 'about a minute on an idle machine');
  // The compiled server (npm run build), as deployed: no TypeScript loader in its memory.
  const args = ['dist/src/lib/server/bundle-main.js', '--storage', dir, '--port', '0', '--host', '127.0.0.1', '--negotiator', neg.url, '--api-key', 'k', '--log-format', 'none'];
  const { child, url } = await spawnServer(t, args, repo);
  const client = new FileServerClient({ url, contractId: neg.contract.id, secretKey: neg.renter.secretKey, retries: 0 });
  const sid = newId();
  const data = randomBytes(10_000);
  await client.put(sid, data);

  // Each address stays under the refusal limit's burst, so every request gets as far as the contract lookup.
  const agents = Array.from({ length: FLOOD_ADDRESSES }, (_, i) => new Agent({ keepAlive: true, localAddress: `127.0.${1 + (i >> 8)}.${i & 255}` }));
  t.teardown(() => agents.forEach((a) => a.destroy()));
  const answers = new Map<string, number>();
  let next = 0;
  let rssEarly = 0;
  let rssPeak = 0;
  const worker = async () => {
    while (next < FLOOD) {
      const i = next++;
      if (i === FLOOD / 10) rssEarly = rssOf(child.pid!);
      if (i > FLOOD / 10 && i % 1000 === 0) rssPeak = Math.max(rssPeak, rssOf(child.pid!));
      const fresh = generateKeyPair();
      const target = { contractId: newId(), sectorId: newId(), operation: 'GET' as const, bodySha256: EMPTY_SHA256 };
      const headers = signRequest(target, fresh.secretKey, fresh.publicKey);
      const a = await signedGet(`${url}/v1/contracts/${target.contractId}/sectors/${target.sectorId}`, headers, agents[i % FLOOD_ADDRESSES]);
      answers.set(`${a.status} ${a.code}`, (answers.get(`${a.status} ${a.code}`) ?? 0) + 1);
    }
  };
  const t0 = Date.now();
  await Promise.all(Array.from({ length: 32 }, worker));
  t.log(`flood took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  const rssLate = rssOf(child.pid!);
  rssPeak = Math.max(rssPeak, rssLate);
  t.log(`answers to ${FLOOD} flood requests: ${JSON.stringify(Object.fromEntries(answers))}; Negotiator asked ${neg.state.lookups} times`);
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  t.log(`server RSS ${mib(rssEarly)} after ${FLOOD / 10} requests, at most ${mib(rssPeak)} after, ${mib(rssLate)} at the end`);
  t.is(answers.get('403 unknown-contract'), FLOOD, 'every flood request was refused at the contract, none earlier');

  const m = (await client.status()).memory;
  t.log(`state after the flood: ${JSON.stringify(m)}`);
  for (const [name, b] of Object.entries(m)) if (typeof b === 'object') t.true(b.size <= b.max, `${name} ${b.size} <= ${b.max}`);
  t.is(m.unknownContracts.size, Math.min(FLOOD, m.unknownContracts.max), 'made-up ids filled their own map, up to its cap');
  t.true(m.nonces.size <= 2, `only the renter's requests left nonces (${m.nonces.size})`);
  t.true(m.renterKeys.size <= 1, `only the renter has a rate-limit bucket (${m.renterKeys.size})`);
  t.true(m.refusedAddresses.size <= FLOOD_ADDRESSES + 1);
  t.true(rssPeak - rssEarly < FLOOD_RSS_BOUND, `RSS grew ${mib(rssPeak - rssEarly)}`);

  // With the Negotiator gone, only a contract still in the cache can be served: the flood did not flush it.
  neg.state.down = true;
  t.is(sha(await client.get(sid)), sha(data), 'the real contract is served from the cache');
  t.is(sha(await client.get(sid, { offset: 100, length: 50 })), sha(data.subarray(100, 150)), 'ranged reads too');
  const stranger = new FileServerClient({ url, contractId: newId(), secretKey: neg.renter.secretKey, retries: 0 });
  const err = await t.throwsAsync(stranger.list(), { instanceOf: FileServerError });
  t.is(err?.status, 503, 'an id it does not know is not guessed');
});
