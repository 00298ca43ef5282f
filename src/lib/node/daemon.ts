/**
 * The CloudCoin daemon: a bcoin full node on a CloudCoin network, with bcoin's
 * wallet, the extension host, and the extensions asked for. The CLI's
 * `node start` is a thin shell around startDaemon().
 */
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, isIP } from 'node:net';
import { join } from 'node:path';
import { bcoin, type BcoinFullNode } from '../chain/bcoin.js';
import { keepReorgedTransactions } from '../chain/mempool-reorg.js';
import { loaderWatchPlugin } from '../chain/loader-watch.js';
import { bcoinType, networkSpec, type NetworkName } from '../chain/networks.js';
import { unlockChecked } from '../wallet/unlock.js';
import { settledWithin } from '../settled-within.js';
import { WalletRebroadcast, type RebroadcastNode } from '../wallet/rebroadcast.js';
import { CloudCoinError, ExitCode, portInUseError } from '../errors.js';
import { ExtensionHost } from '../ext/host.js';
import { splitHostPort } from '../net/address.js';
import { loadExtension } from '../ext/loader.js';
import { AutoRepair, type AutoRepairOptions } from '../renter/auto-repair.js';
import { ensureApiKey, ensureServeKey, liveRuntime, removeRuntime, writeRuntime, type RuntimeInfo } from './datafiles.js';
import { installApiAuth } from './api-auth.js';
import { isLoopbackHost } from './loopback.js';
import { openRemoteApi, planRemoteApi, type RemoteApiOptions } from './remote-api.js';

export interface DaemonOptions {
  datadir: string;
  network: NetworkName;
  /** Address the P2P port binds to. */
  host?: string;
  port?: number;
  httpPort?: number;
  /** The HTTP API on a second address, for remote file servers (remote-api.ts). */
  remoteApi?: RemoteApiOptions;
  walletPort?: number;
  peers?: string[];
  /** Seed nodes or DNS seeds (default: the network's). */
  seeds?: string[];
  /** IP[:port] others reach this node at (bcoin's publicHost/publicPort); put in its offers. */
  externalAddress?: string;
  listen?: boolean;
  apiKey?: string;
  extensions?: string[];
  /** Asked only at first start, to encrypt the new wallet. */
  passphrase?: () => Promise<string | undefined>;
  /** The wallet passphrase kept in memory so extensions can sign contract funding unattended. */
  unlockPassphrase?: string;
  logLevel?: string;
  /** Runs `store repair` on its own when this node is a renter (renter/auto-repair.ts). */
  autoRepair?: Pick<AutoRepairOptions, 'bin' | 'passphrase'>;
}

export interface Daemon {
  node: BcoinFullNode;
  host: ExtensionHost;
  info: RuntimeInfo;
  apiKey: string;
  stop(): Promise<void>;
}

async function checkPortFree(port: number, host: string, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE'
        ? portInUseError(what, port)
        : new CloudCoinError('EPORT', `cannot bind ${what} port ${port}: ${err.message}`, ExitCode.failure));
    });
    server.listen(port, host, () => server.close(() => resolve()));
  });
}

/**
 * On the dev network every node is on 127.0.0.1, so banning a misbehaving
 * peer's address would cut the whole devnet apart: there a ban disconnects
 * the peer but does not blacklist loopback.
 */
function keepLoopbackUnbanned(node: BcoinFullNode): void {
  const hosts = node.pool.hosts as any;
  const ban = hosts.ban.bind(hosts);
  hosts.ban = (host: string) => (isLoopbackHost(host) ? undefined : ban(host));
}

/**
 * bcoin's publicHost/publicPort from `--external-address` (an IP, and a port
 * when it is not the P2P port); on dev, where nothing else tells a node its
 * address, the address it binds unless that is a wildcard.
 */
function publicAddress(external: string | undefined, devBind: string | undefined): { publicHost?: string; publicPort?: number } {
  if (external === undefined) return devBind && !['0.0.0.0', '::'].includes(devBind) ? { publicHost: devBind } : {};
  const { host, port } = splitHostPort(external) ?? { host: '', port: undefined };
  if (!isIP(host)) {
    throw new CloudCoinError('EUSAGE', `--external-address must be an IP address and an optional port (203.0.113.7, [2001:db8::7]:48444), got ${JSON.stringify(external)}`, ExitCode.usage);
  }
  return port === undefined ? { publicHost: host } : { publicHost: host, publicPort: port };
}

export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const spec = networkSpec(opts.network);
  const datadir = opts.datadir;
  const running = liveRuntime(datadir);
  if (running) throw new CloudCoinError('ERUNNING', `a node is already running on ${datadir} (pid ${running.pid})`, ExitCode.conflict);

  const dev = opts.network === 'dev';
  const bind = opts.host ?? (dev ? '127.0.0.1' : '0.0.0.0');
  const port = opts.port ?? spec.port;
  const httpPort = opts.httpPort ?? spec.httpPort;
  const walletPort = opts.walletPort ?? spec.walletPort;
  const listen = opts.listen ?? true;
  const remote = planRemoteApi(opts.remoteApi ?? {});
  if (listen) await checkPortFree(port, bind, 'P2P');
  await checkPortFree(httpPort, '127.0.0.1', 'HTTP');
  if (remote) await checkPortFree(httpPort, remote.host, `HTTP (${remote.host})`);
  await checkPortFree(walletPort, '127.0.0.1', 'wallet HTTP');

  const walletDir = join(datadir, 'wallet');
  const firstStart = !existsSync(walletDir);
  let passphrase: string | undefined;
  if (firstStart) {
    passphrase = await opts.passphrase?.();
    if (!passphrase) {
      throw new CloudCoinError('ENOPASSPHRASE', 'a passphrase is needed to create the wallet: set CLOUDCOIN_PASSPHRASE or run on a terminal', ExitCode.auth);
    }
  }
  const apiKey = ensureApiKey(datadir, opts.apiKey);
  const serveKey = ensureServeKey(datadir);
  const extensions = await Promise.all((opts.extensions ?? []).map(loadExtension));

  const node = new bcoin.FullNode({
    network: bcoinType(opts.network),
    prefix: datadir,
    memory: false,
    workers: false,
    listen,
    host: bind,
    ...publicAddress(opts.externalAddress, dev ? bind : undefined),
    port,
    nodes: opts.peers ?? [],
    ...(opts.seeds ? { seeds: opts.seeds } : {}),
    httpHost: '127.0.0.1',
    httpPort,
    apiKey,
    walletHttpPort: walletPort,
    walletPrefix: datadir,
    walletWitness: true,
    logLevel: opts.logLevel ?? 'info',
    logConsole: false,
    logFile: true,
  });
  installApiAuth(node.http, { full: apiKey, serve: serveKey });
  if (dev) keepLoopbackUnbanned(node);
  keepReorgedTransactions(node.mempool as unknown as Parameters<typeof keepReorgedTransactions>[0]);
  node.use(loaderWatchPlugin);
  const host = ExtensionHost.attach(node, datadir);
  node.use(bcoin.wallet.plugin);
  for (const ext of extensions) {
    node.use(ext);
    host.markLoaded(ext.id);
  }
  // bcoin reports failures of background work as 'error' events; unhandled they would end the process.
  node.on('error', () => {});

  await node.ensure();
  mkdirSync(walletDir, { recursive: true, mode: 0o700 });
  try {
    await node.open();
  } catch (err) {
    await host.close().catch(() => {});
    const message = (err as Error).message;
    if (/lock/i.test(message)) throw new CloudCoinError('ERUNNING', `another process holds the databases in ${datadir}`, ExitCode.conflict);
    throw new CloudCoinError('EOPEN', `cannot open the node: ${message}`, ExitCode.failure);
  }
  const wdb = node.plugins.walletdb.wdb;
  if (passphrase) await wdb.primary.setPassphrase(passphrase);
  const kept = passphrase ?? opts.unlockPassphrase;
  if (kept && !passphrase) {
    try {
      await unlockChecked(wdb.primary, kept);
      await wdb.primary.lock();
    } catch {
      await node.close().catch(() => {});
      await host.close().catch(() => {});
      throw new CloudCoinError('EPASSPHRASE', 'wrong wallet passphrase in CLOUDCOIN_PASSPHRASE', ExitCode.auth);
    }
  }
  host.walletPassphrase = kept;
  // The wallet follows the chain asynchronously; callers that mine and then spend wait on this.
  node.http.get('/cloudcoin/sync', (_req: unknown, res: any) => res.json(200, { chain: node.chain.height, wallet: wdb.state.height }));
  let remoteApi = null;
  if (remote) {
    try {
      remoteApi = await openRemoteApi(node.http, remote, httpPort);
    } catch (err) {
      await node.close().catch(() => {});
      await host.close().catch(() => {});
      throw err;
    }
  }
  await node.connect();
  node.startSync();
  const rebroadcast = WalletRebroadcast.start(node as unknown as RebroadcastNode);
  const repairs = opts.autoRepair ? AutoRepair.start({ datadir, ...opts.autoRepair, log: (m) => node.logger.info(m) }) : null;

  const info: RuntimeInfo = {
    pid: process.pid,
    network: opts.network,
    host: bind,
    port,
    httpPort,
    walletPort,
    startedAt: new Date().toISOString(),
    extensions: [...host.extensions],
    ...(remoteApi ? { httpRemote: remoteApi.url } : {}),
  };
  writeRuntime(datadir, info);

  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      try {
        const log = (line: string) => node.logger.warning(line);
        await settledWithin(repairs?.stop(), BACKGROUND_STOP_MS, 'the store repair under way', log);
        await settledWithin(rebroadcast.close(), BACKGROUND_STOP_MS, 'the wallet rebroadcast round', log);
        await remoteApi?.close();
        await node.close();
        await host.close();
      } finally {
        removeRuntime(datadir);
      }
    })();
    return stopping;
  };
  return { node, host, info, apiKey, stop };
}

/**
 * How long a stop waits for the daemon's own background work before it closes
 * the node under it. That work only reads and sends, and fails harmlessly on
 * a closed node; a stop that waited on it for ever would leave the process
 * running after SIGTERM.
 */
const BACKGROUND_STOP_MS = 10_000;
