/**
 * Issue 25 item 6 on real processes: a file server on another machine holds
 * the node's serve key, which works end to end and opens nothing else; the
 * node's API leaves loopback only with TLS; and a file server will not send
 * its key over plain http to a Negotiator off loopback unless told --insecure.
 */
import test, { type ExecutionContext } from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import {
  AuthorityUnavailableError,
  FileServerClient,
  HttpContractAuthority,
  NegotiatorRefusedError,
} from '../src/lib/server/index.js';
import { isLoopbackHost } from '../src/lib/node/loopback.js';
import { readRuntime } from '../src/lib/node/datafiles.js';
import { cli, cliOk, ROOT } from './util/cli.js';
import { devNode, tempDir, waitFor } from './util/devnode.js';
import { negotiated, serveProcess } from './util/serve.js';

const HOST_KEY = '02' + '11'.repeat(32);

/** An address of this machine off loopback, if it has one; else a loopback alias, which takes TLS the same way. */
function remoteAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.2';
}

/** A self-signed certificate for `address`, made with openssl as an operator would. */
function selfSigned(t: ExecutionContext, address: string): { cert: string; key: string } {
  const dir = tempDir(t);
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=cloudcoin-test', '-addext', `subjectAltName=IP:${address}`], { stdio: 'ignore' });
  return { cert, key };
}

/** The first bytes a WebSocket upgrade request to `host:port` gets back. */
function upgrade(host: string, port: number): Promise<string> {
  return new Promise<string>((resolve) => {
    const socket = connect(port, host, () => socket.write(`GET /socket.io/?EIO=3&transport=websocket HTTP/1.1\r\nHost: ${host}\r\n`
      + `Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`));
    let got = '';
    socket.on('data', (d) => {
      got += d;
      socket.destroy();
    });
    socket.on('close', () => resolve(got));
    socket.on('error', () => resolve(got));
    socket.setTimeout(5000, () => socket.destroy());
  });
}

async function api(port: number, key: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: 'Basic ' + Buffer.from(`x:${key}`).toString('base64'), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

test.serial('a file server with the serve key works end to end over https, and the serve key cannot negotiate, rate, settle or call the RPC', async (t) => {
  const { renter, host, contractId, renterKey } = await negotiated(t, 50);
  const serveKey = (await cliOk(['node', 'serve-key', '--datadir', host.datadir, '--json'])).json.serveKey as string;
  t.is(serveKey, readFileSync(join(host.datadir, 'serve.key'), 'utf8').trim());
  const apiKey = readFileSync(join(host.datadir, 'api.key'), 'utf8').trim();
  t.not(serveKey, apiKey);

  const address = remoteAddress();
  const tls = selfSigned(t, address);
  await cliOk(['node', 'stop', '--datadir', host.datadir]);
  await cliOk(['node', 'start', '--detach', '--network', 'dev', '--datadir', host.datadir, '--port', String(host.port),
    '--http-port', String(host.httpPort), '--wallet-port', String(host.walletPort), '--peers', `127.0.0.1:${renter.port}`,
    '--http-host', address, '--http-tls-cert', tls.cert, '--http-tls-key', tls.key]);
  const remoteUrl = readRuntime(host.datadir)!.httpRemote!;
  t.is(remoteUrl, `https://${address}:${host.httpPort}`);

  const identity = (await api(host.httpPort, apiKey, 'GET', '/ext/negotiator/identity')).body.key;
  const server = await serveProcess(t, ['--storage', join(tempDir(t), 'sectors'), '--negotiator', remoteUrl, '--negotiator-ca', tls.cert],
    { CLOUDCOIN_API_KEY: serveKey });
  const client = new FileServerClient({ url: server.url, contractId, secretKey: renterKey, retries: 0 });
  const sector = randomBytes(1 << 20);
  const sectorId = createHash('sha256').update(sector).digest('hex');
  // The restarted node may see the funding block a moment after the renter's.
  await waitFor(() => client.put(sectorId, sector).then(() => true, () => false), 40_000, 'the sector stored through the https Negotiator');
  t.true(Buffer.from(await client.get(sectorId)).equals(sector));

  const overTls = new HttpContractAuthority({ url: remoteUrl, apiKey: serveKey, ca: readFileSync(tls.cert) });
  t.is(await overTls.hostKey(), identity, 'the serve key reads the identity over https');
  t.is((await overTls.lookup(contractId))?.contractId, contractId);
  const refused = await t.throwsAsync(overTls.countersign('ab'.repeat(32), '00'), { instanceOf: NegotiatorRefusedError });
  t.notRegex(refused!.message, /serve key/, 'the revision route is open to the serve key: the refusal is the Negotiator\'s own');
  const untrusted = new HttpContractAuthority({ url: remoteUrl, apiKey: serveKey });
  await t.throwsAsync(untrusted.lookup(contractId), { instanceOf: AuthorityUnavailableError, message: /certificate/ }, 'a self-signed certificate is refused without --negotiator-ca');

  const forbidden: Array<[string, string, unknown?]> = [
    ['POST', '/ext/negotiator/negotiate', { offer: 'ab'.repeat(32), size: 1 << 20, duration: 10 }],
    ['POST', `/ext/negotiator/contracts/${contractId}/rate`, { score: 1 }],
    ['POST', `/ext/negotiator/contracts/${contractId}/settle`, {}],
    ['POST', '/', { method: 'getblockcount', params: [] }],
    ['POST', '/ext/negotiator/offers', {}],
    ['DELETE', '/ext/negotiator/offers'],
    ['GET', '/ext/negotiator/contracts'],
    ['POST', '/ext/negotiator/fulfilment', { automatic: false }],
  ];
  for (const [method, path, body] of forbidden) {
    const answer = await api(host.httpPort, serveKey, method, path, body);
    t.is(answer.status, 403, `${method} ${path}`);
    t.is(answer.body.error.code, 'ESCOPE');
    t.regex(answer.body.error.message, /needs the node's API key/);
  }
  t.is((await api(host.httpPort, apiKey, 'POST', '/', { method: 'getblockcount', params: [] })).status, 200, 'the API key still opens the RPC');
  t.is((await api(host.httpPort, apiKey, 'GET', '/ext/negotiator/contracts')).status, 200);
  t.is((await api(host.httpPort, 'wrong', 'GET', '/')).status, 401);
  const wallet = await fetch(`http://127.0.0.1:${host.walletPort}/wallet/primary`, { headers: { authorization: 'Basic ' + Buffer.from(`x:${serveKey}`).toString('base64') } });
  t.is(wallet.status, 401, 'the wallet knows only the API key');
  await wallet.body?.cancel();
  const shown = (await cliOk(['contract', 'show', contractId, '--datadir', host.datadir, '--json'])).json;
  t.not(shown.state, 'settled');
});

test('node start refuses an --http-host off loopback without TLS, and 0.0.0.0, before anything starts', async (t) => {
  const datadir = join(tempDir(t), 'node');
  for (const detach of [[], ['--detach']]) {
    const plain = await cli(['node', 'start', '--network', 'dev', '--datadir', datadir, '--http-host', '192.0.2.77', ...detach]);
    t.is(plain.code, 2, plain.stderr);
    t.is(plain.stderr.trim().split('\n').length, 1);
    t.regex(plain.stderr, /^error: the HTTP API on 192\.0\.2\.77 would carry the API keys in the clear: give --http-tls-cert and --http-tls-key, or --http-behind-proxy/);
  }
  const wildcard = await cli(['node', 'start', '--network', 'dev', '--datadir', datadir, '--http-host', '0.0.0.0']);
  t.is(wildcard.code, 2);
  t.regex(wildcard.stderr, /must name one address/);
  const halfTls = await cli(['node', 'start', '--network', 'dev', '--datadir', datadir, '--http-host', '192.0.2.77', '--http-tls-cert', 'cert.pem']);
  t.is(halfTls.code, 2);
  t.regex(halfTls.stderr, /go together/);
  t.false(existsSync(join(datadir, 'wallet')), 'no wallet was created');
  t.false(existsSync(join(datadir, 'api.key')));
});

test('--http-behind-proxy serves plain HTTP on the address given, with the same keys and no WebSocket', async (t) => {
  const address = remoteAddress();
  const node = await devNode(t, { extra: ['--http-host', address, '--http-behind-proxy'] });
  const url = readRuntime(node.datadir)!.httpRemote!;
  t.is(url, `http://${address}:${node.httpPort}`);
  const serveKey = readFileSync(join(node.datadir, 'serve.key'), 'utf8').trim();
  const ask = (key: string, method: string, path: string) => fetch(`${url}${path}`, {
    method,
    headers: { authorization: 'Basic ' + Buffer.from(`x:${key}`).toString('base64'), 'content-type': 'application/json' },
    body: method === 'POST' ? JSON.stringify({ method: 'getblockcount', params: [] }) : undefined,
  }).then(async (res) => ({ status: res.status, text: await res.text() }));
  t.is((await ask(serveKey, 'GET', '/ext/negotiator/identity')).status, 200);
  t.is((await ask(serveKey, 'POST', '/')).status, 403);
  t.is((await ask(node.apiKey(), 'POST', '/')).status, 200);
  t.is((await ask('wrong', 'GET', '/')).status, 401);
  t.regex(await upgrade('127.0.0.1', node.httpPort), /^HTTP\/1\.1 101/, 'the loopback listener takes the WebSocket');
  t.notRegex(await upgrade(address, node.httpPort), /^HTTP\/1\.1 101/, 'the second listener does not');
});

test('serve refuses http:// to a Negotiator off loopback unless --insecure; a loopback alias is loopback', async (t) => {
  const dir = tempDir(t);
  const refused = await cli(['serve', '--datadir', dir, '--network', 'dev', '--negotiator', 'http://192.0.2.77:8432', '--port', '0'], { env: { CLOUDCOIN_API_KEY: 'k' } });
  t.is(refused.code, 2);
  t.is(refused.stderr.trim().split('\n').length, 1);
  t.regex(refused.stderr, /^error: refusing http:\/\/ to 192\.0\.2\.77:8432, which would carry the API key in the clear: use https:\/\//);

  const caOverHttp = await cli(['serve', '--datadir', dir, '--network', 'dev', '--negotiator', 'http://127.0.0.1:1', '--negotiator-ca', join(ROOT, 'package.json'), '--port', '0'], { env: { CLOUDCOIN_API_KEY: 'k' } });
  t.is(caOverHttp.code, 2);
  t.regex(caOverHttp.stderr, /--negotiator-ca\) needs an https:\/\/ url/);

  // serveProcess resolves once the server says it listens; its status page shows it answering.
  const insecure = await serveProcess(t, ['--storage', join(dir, 'a'), '--negotiator', 'http://192.0.2.77:8432', '--insecure', '--host-key', HOST_KEY], { CLOUDCOIN_API_KEY: 'k' });
  t.is((await fetch(`${insecure.url}/`, { headers: { accept: 'application/json' } })).status, 200, 'with --insecure it starts');
  t.is(await insecure.stop(), 0, 'and stops cleanly on SIGTERM');
  const alias = await serveProcess(t, ['--storage', join(dir, 'b'), '--negotiator', 'http://127.0.0.2:1', '--host-key', HOST_KEY], { CLOUDCOIN_API_KEY: 'k' });
  t.is((await fetch(`${alias.url}/`, { headers: { accept: 'application/json' } })).status, 200, '127.0.0.2 is loopback');
  t.is(await alias.stop(), 0);

  const bundle = spawn(process.execPath, ['--import=tsx', 'src/lib/server/bundle-main.ts', '--storage', join(dir, 'c'), '--port', '0',
    '--negotiator', 'http://[2001:db8::1]:8432', '--api-key', 'k', '--host-key', HOST_KEY], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  bundle.stderr.on('data', (d) => { stderr += d; });
  const code = await new Promise<number>((resolve) => bundle.on('close', (c) => resolve(c ?? 1)));
  t.is(code, 2, stderr);
  t.regex(stderr, /^cloudcoin-serve: refusing http:\/\/ to \[2001:db8::1\]:8432/);
});

test('loopback is 127.0.0.0/8, ::1 and IPv4-mapped 127.x; names other than localhost are not', (t) => {
  for (const h of ['127.0.0.1', '127.0.0.2', '127.255.0.9', '::1', '[::1]', '::ffff:127.0.0.1', '[::ffff:7f00:1]', 'localhost']) t.true(isLoopbackHost(h), h);
  for (const h of ['10.0.0.1', '192.0.2.2', '0.0.0.0', '::', '[2001:db8::1]', '::ffff:10.0.0.1', '128.0.0.1', 'node.example', '127.0.0.1.nip.io']) t.false(isLoopbackHost(h), h);
});
