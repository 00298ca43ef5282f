/**
 * The file server where hosts really run it (docs/server.md, "Deploying"):
 * the single-file bundle under Phusion Passenger in Apache (the engine cPanel
 * runs Node.js apps with) at a path prefix, and `cloudcoin serve` behind
 * nginx as a TLS reverse proxy, both with Debian's own servers. A renter on
 * a live devnet contracts one host through each, as its offers say, and a
 * store push and pull go through both.
 *
 * Needs apache2, libapache2-mod-passenger and nginx (.ci/run installs them).
 */
import test, { type ExecutionContext } from 'ava';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildServerBundle } from '../scripts/build-server.js';
import { DEVNET_TERMS, contractDevnetHosts } from '../src/lib/devnet/contracts.js';
import { freePorts } from '../src/lib/devnet/ports.js';
import { readServeKey } from '../src/lib/node/datafiles.js';
import { cliOk } from './util/cli.js';
import { LiveDevnet } from './util/devnet.js';
import { waitFor } from './util/devnode.js';
import { walkTree } from './util/tree.js';

const PASSENGER_MODULE = '/usr/lib/apache2/modules/mod_passenger.so';
const APACHE_MODULES = '/usr/lib/apache2/modules';
const NOBODY = 65534;

function missingServers(): string[] {
  return [
    ['/usr/sbin/apache2', 'apache2'],
    [PASSENGER_MODULE, 'libapache2-mod-passenger'],
    ['/usr/sbin/nginx', 'nginx'],
  ].flatMap(([path, pkg]) => (existsSync(path) ? [] : [pkg]));
}

/** A long-running server process, killed with its process group in the teardown. */
function daemon(t: ExecutionContext, cmd: string, args: string[]): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  child.once('exit', (code) => code && t.log(`${cmd} exited ${code}: ${err}`));
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    process.kill(-child.pid!, 'SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
  });
  return child;
}

/** GET url: status and body, or null while nothing listens. */
async function probe(url: string, init: RequestInit = {}): Promise<{ status: number; body: string } | null> {
  try {
    const res = await fetch(url, { ...init, headers: { accept: 'application/json', ...init.headers } });
    return { status: res.status, body: await res.text() };
  } catch {
    return null;
  }
}

function apacheConfig(dir: string, port: number, appDir: string, apiKey: string): string {
  return `ServerRoot ${dir}
PidFile ${dir}/httpd.pid
Listen 127.0.0.1:${port}
ServerName 127.0.0.1
ErrorLog ${dir}/error.log
LogLevel warn
LoadModule mpm_event_module ${APACHE_MODULES}/mod_mpm_event.so
LoadModule authz_core_module ${APACHE_MODULES}/mod_authz_core.so
LoadModule alias_module ${APACHE_MODULES}/mod_alias.so
LoadModule env_module ${APACHE_MODULES}/mod_env.so
LoadModule passenger_module ${PASSENGER_MODULE}
PassengerRoot /usr/lib/ruby/vendor_ruby/phusion_passenger/locations.ini
PassengerDefaultRuby /usr/bin/ruby
PassengerNodejs ${process.execPath}
PassengerInstanceRegistryDir ${dir}/run
PassengerDisableSecurityUpdateCheck on
DocumentRoot ${appDir}/public
User nobody
Group nogroup
Alias /cc ${appDir}/public
<Location /cc>
  PassengerBaseURI /cc
  PassengerAppRoot ${appDir}
  PassengerAppType node
  PassengerStartupFile app.cjs
  SetEnv CLOUDCOIN_API_KEY ${apiKey}
</Location>
`;
}

function nginxConfig(dir: string, port: number, upstream: number): string {
  return `pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${dir}/cert.pem;
    ssl_certificate_key ${dir}/key.pem;
    location /cloudcoin/ {
      proxy_pass http://127.0.0.1:${upstream}/;
      proxy_request_buffering off;
      proxy_buffering off;
      client_max_body_size 5m;
    }
  }
}
`;
}

test.serial('the bundle under Passenger at a path prefix and `serve` behind an nginx TLS proxy: contracted from their offers, a store push and pull go through both', async (t) => {
  const missing = missingServers();
  if (missing.length > 0) return t.fail(`not installed: ${missing.join(', ')} (apt-get install ${missing.join(' ')}; .ci/run does)`);
  t.timeout(300_000);
  const net = await LiveDevnet.up(t, 2);
  const [renter, viaPassenger, viaNginx] = [net.get('renter'), net.get('host1'), net.get('host2')];
  const [apachePort, nginxPort] = await freePorts(2);

  // Passenger runs the app as nobody: its directories must be readable by it, the storage directory at first is not.
  const work = join(net.dir, 'deploy');
  const appDir = join(work, 'app');
  const storage = join(work, 'sectors');
  for (const d of [work, appDir, join(appDir, 'public'), join(work, 'apache', 'run'), join(work, 'nginx')]) mkdirSync(d, { recursive: true });
  for (const d of [net.dir, work, appDir, join(appDir, 'public')]) chmodSync(d, 0o755);
  mkdirSync(storage, { mode: 0o700 });
  await buildServerBundle(join(appDir, 'cloudcoin-serve.mjs'));
  t.true(existsSync(join(appDir, 'app.cjs')), 'the startup file is built beside the bundle');
  writeFileSync(join(appDir, 'cloudcoin-serve.json'), JSON.stringify({ storage, negotiator: `http://127.0.0.1:${viaPassenger.httpPort}`, 'log-format': 'json' }));
  writeFileSync(join(work, 'apache', 'httpd.conf'), apacheConfig(join(work, 'apache'), apachePort, appDir, readServeKey(viaPassenger.datadir)!));
  daemon(t, '/usr/sbin/apache2', ['-f', join(work, 'apache', 'httpd.conf'), '-DFOREGROUND']);
  const passengerUrl = `http://127.0.0.1:${apachePort}/cc`;

  // First start: the storage directory is root's, and the app says so in one line of the log.
  await waitFor(async () => ((await probe(`${passengerUrl}/status`))?.status ?? 0) >= 500, 60_000, 'the app failing on its storage directory');
  await waitFor(async () => readFileSync(join(work, 'apache', 'error.log'), 'utf8').includes(`storage directory ${storage} is not writable by nobody (uid ${NOBODY})`), 30_000, 'the ownership error in the log');

  chownSync(storage, NOBODY, NOBODY);
  mkdirSync(join(appDir, 'tmp'));
  writeFileSync(join(appDir, 'tmp', 'restart.txt'), '');
  await waitFor(async () => (await probe(`${passengerUrl}/status`))?.status === 200, 60_000, 'the app serving under /cc');
  const status = JSON.parse((await probe(`${passengerUrl}/status`))!.body);
  t.is(status.usedBytes, 0);
  const unsigned = await probe(`${passengerUrl}/v1/contracts/${'ab'.repeat(32)}/sectors/${'cd'.repeat(32)}`, { method: 'PUT', body: 'x' });
  t.is(unsigned?.status, 401, 'an unsigned PUT is refused');
  t.is((await probe(`http://127.0.0.1:${apachePort}/v1/contracts`))?.status, 404, 'nothing is served outside the prefix');

  // nginx terminates TLS in front of host2's own file server, under /cloudcoin/.
  const ngx = join(work, 'nginx');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(ngx, 'key.pem'), '-out', join(ngx, 'cert.pem')], { stdio: 'ignore' });
  writeFileSync(join(ngx, 'nginx.conf'), nginxConfig(ngx, nginxPort, viaNginx.serverPort!));
  daemon(t, '/usr/sbin/nginx', ['-p', ngx, '-c', join(ngx, 'nginx.conf'), '-g', 'daemon off;']);
  const nginxUrl = `https://127.0.0.1:${nginxPort}/cloudcoin`;
  const tlsEnv = { NODE_EXTRA_CA_CERTS: join(ngx, 'cert.pem') };

  // Each host offers the URL it is reached at; the renter knows nothing else of them.
  const participants = net.participants.map((p) => (p === viaPassenger ? { ...p, serverUrl: passengerUrl } : p === viaNginx ? { ...p, serverUrl: nginxUrl } : p));
  const contracts = await contractDevnetHosts(participants, DEVNET_TERMS);
  t.deepEqual(contracts.map((c) => c.url).sort(), [nginxUrl, passengerUrl].sort());

  const source = join(work, 'source');
  await mkdir(join(source, 'docs'), { recursive: true });
  await writeFile(join(source, 'big.bin'), Buffer.alloc(6_000_000, 7));
  await writeFile(join(source, 'docs', 'note.txt'), 'through Passenger and nginx\n');
  await cliOk(['store', 'init', '--datadir', renter.datadir]);
  const push = (await cliOk(['store', 'push', source, '--total-shards', '2', '--datadir', renter.datadir, '--json'], { env: tlsEnv })).json;
  t.deepEqual([push.hosts, push.hostsDown], [2, []]);
  const target = join(work, 'restored');
  await cliOk(['store', 'pull', push.snapshot, target, '--datadir', renter.datadir], { env: tlsEnv });
  t.deepEqual((await walkTree(target)).entries, (await walkTree(source)).entries);

  t.true(readdirSync(join(storage, 'sectors')).length > 0, 'sectors landed in the Passenger app storage');
  t.regex(readFileSync(join(ngx, 'access.log'), 'utf8'), /"PUT \/cloudcoin\/v1\/contracts\/[0-9a-f]{64}\/sectors\/[0-9a-f]{64} HTTP\/1\.1" 20[01]/);
});
