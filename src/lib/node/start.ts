/**
 * `node start`: settings merged (flags over config.json over the network's
 * defaults), then the daemon in this process until a signal stops it, or in a
 * detached child.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { FileConfig, Location } from '../config/settings.js';
import { CloudCoinError, ExitCode } from '../errors.js';
import { writeFileConfig } from '../config/settings.js';
import { startDaemon } from './daemon.js';
import { startDetached } from './control.js';
import type { RuntimeInfo } from './datafiles.js';
import { untilSignal } from './signals.js';
import { planRemoteApi, type RemoteApiOptions } from './remote-api.js';

/** The settings config.json may hold, which flags override, plus some that only flags set. */
export type StartFlags = Omit<FileConfig, 'network'> & { apiKey?: string; logLevel?: string; remoteApi?: RemoteApiOptions };

export interface StartResult extends RuntimeInfo {
  datadir: string;
  height: number;
}

export interface StartRequest {
  location: Location;
  flags: StartFlags;
  detach?: boolean;
  /** Path of bin/run.js, to start the detached child with. */
  bin: string;
  /** The command's own arguments, passed on to the detached child. */
  argv: string[];
  passphrase: () => Promise<string | undefined>;
  onReady: (result: StartResult) => void;
}

/** Built-in extensions every node loads unless the config names its own list. */
export const DEFAULT_EXTENSIONS: string[] = ['negotiator'];

export async function startNodeCommand(req: StartRequest): Promise<StartResult> {
  const { datadir, network, config } = req.location;
  // A bad --http-host is a usage error before anything starts, the detached child included.
  planRemoteApi(req.flags.remoteApi ?? {});
  if (!config.network) writeFileConfig(datadir, { ...config, network });

  if (req.detach) {
    // The parent asks for the passphrase, so a detached first start works from a terminal too.
    const env = process.env.CLOUDCOIN_PASSPHRASE ? undefined : await req.passphrase();
    if (env) process.env.CLOUDCOIN_PASSPHRASE = env;
    // The child resolves the same location from the same arguments and environment.
    const args = ['node', 'start', ...req.argv.filter((a) => a !== '--detach' && a !== '--json')];
    const info = await startDetached(req.bin, args, datadir);
    const result = { ...info, datadir, height: -1 };
    req.onReady(result);
    return result;
  }

  const f = req.flags;
  const daemon = await startDaemon({
    datadir,
    network,
    host: f.host ?? config.host,
    port: f.port ?? config.port,
    httpPort: f.httpPort ?? config.httpPort,
    remoteApi: f.remoteApi,
    walletPort: f.walletPort ?? config.walletPort,
    peers: f.peers ?? config.peers,
    seeds: f.seeds ?? config.seeds,
    externalAddress: f.externalAddress ?? config.externalAddress,
    listen: f.listen ?? config.listen,
    apiKey: f.apiKey,
    extensions: [...(config.extensions ?? DEFAULT_EXTENSIONS), ...(f.extensions ?? [])],
    passphrase: req.passphrase,
    unlockPassphrase: process.env.CLOUDCOIN_PASSPHRASE,
    logLevel: f.logLevel,
    autoRepair: { bin: req.bin, passphrase: storePassphrase(datadir, f.storePassphraseFile ?? config.storePassphraseFile) },
  });
  const result: StartResult = { ...daemon.info, datadir, height: daemon.node.chain.height };
  // Whoever reads the ready line may signal at once: the graceful stop must be in place before it.
  const stopped = untilSignal(daemon.stop);
  req.onReady(result);
  await stopped;
  return result;
}

/** The store passphrase for the daemon's own repairs: the file's first line (relative to the data directory), else CLOUDCOIN_PASSPHRASE. */
function storePassphrase(datadir: string, file: string | undefined): string | undefined {
  if (file === undefined) return process.env.CLOUDCOIN_PASSPHRASE || undefined;
  try {
    return readFileSync(resolve(datadir, file), 'utf8').split(/\r?\n/)[0] || undefined;
  } catch (err) {
    throw new CloudCoinError('EBADCONFIG', `store passphrase file ${file}: ${(err as Error).message}`, ExitCode.usage);
  }
}
