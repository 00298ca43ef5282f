/**
 * Where a command's settings come from. Flags win over the environment, the
 * environment over the data directory's config.json, and that over defaults,
 * as Bitcoin Core does with its command line, environment and bitcoin.conf.
 *
 * One data directory holds one user's everything on one network; the network
 * is recorded in its config.json at first start, so later commands need only
 * --datadir.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { CloudCoinError, ExitCode } from '../errors.js';
import { isNetworkName, type NetworkName, NETWORK_NAMES } from '../chain/names.js';

export const CONFIG_FILE = 'config.json';

/** The keys config.json may hold; every one is optional. */
export interface FileConfig {
  network?: NetworkName;
  port?: number;
  httpPort?: number;
  walletPort?: number;
  host?: string;
  peers?: string[];
  seeds?: string[];
  externalAddress?: string;
  listen?: boolean;
  extensions?: string[];
  /** The renter policy (config/renter-policy.ts). */
  renter?: unknown;
  /** A file whose first line is the store passphrase, so the node runs store repair on its own. */
  storePassphraseFile?: string;
}

export interface Location {
  datadir: string;
  network: NetworkName;
  config: FileConfig;
}

export interface LocationFlags {
  datadir?: string;
  network?: string;
}

export function defaultDatadir(network: NetworkName): string {
  return join(homedir(), '.cloudcoin', network);
}

function parseNetwork(value: string, source: string): NetworkName {
  if (!isNetworkName(value)) {
    throw new CloudCoinError('EBADNETWORK', `unknown network "${value}" in ${source} (expected ${NETWORK_NAMES.join(', ')})`, ExitCode.usage);
  }
  return value;
}

export function readFileConfig(datadir: string): FileConfig {
  const path = join(datadir, CONFIG_FILE);
  if (!existsSync(path)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new CloudCoinError('EBADCONFIG', `${path} is not valid JSON: ${(err as Error).message}`, ExitCode.usage);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CloudCoinError('EBADCONFIG', `${path} must hold a JSON object`, ExitCode.usage);
  }
  const config = parsed as FileConfig;
  if (config.network !== undefined) parseNetwork(String(config.network), path);
  return config;
}

export function writeFileConfig(datadir: string, config: FileConfig): void {
  mkdirSync(datadir, { recursive: true, mode: 0o700 });
  writeFileSync(join(datadir, CONFIG_FILE), JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
}

/** Resolves the data directory and network of a command from flags, environment and config.json. */
export function resolveLocation(flags: LocationFlags, env: NodeJS.ProcessEnv = process.env): Location {
  const flagNetwork = flags.network ? parseNetwork(flags.network, '--network') : undefined;
  const envNetwork = env.CLOUDCOIN_NETWORK ? parseNetwork(env.CLOUDCOIN_NETWORK, 'CLOUDCOIN_NETWORK') : undefined;
  const explicitDir = flags.datadir ?? env.CLOUDCOIN_DATADIR;
  const datadir = resolve(explicitDir ?? defaultDatadir(flagNetwork ?? envNetwork ?? 'main'));
  const config = readFileConfig(datadir);
  const network = flagNetwork ?? envNetwork ?? config.network ?? 'main';
  if (config.network && config.network !== network) {
    throw new CloudCoinError('ENETWORKMISMATCH', `${datadir} belongs to the ${config.network} network, not ${network}`, ExitCode.usage);
  }
  return { datadir, network, config };
}
