/**
 * The files through which a running node is found: the API key and the
 * file servers' scoped key (created at first start, mode 0600) and node.json
 * (written when the node is ready, removed when it stops). Every other command
 * reads these to reach the node.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, renameSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import type { NetworkName } from '../chain/names.js';

export const API_KEY_FILE = 'api.key';
/** The key a file server uses: it reads contracts and countersigns revisions, nothing else (api-auth.ts). */
export const SERVE_KEY_FILE = 'serve.key';
export const RUNTIME_FILE = 'node.json';
export const PID_FILE = 'node.pid';
export const LOG_FILE = 'node.log';

export interface RuntimeInfo {
  pid: number;
  network: NetworkName;
  host: string;
  port: number;
  httpPort: number;
  walletPort: number;
  startedAt: string;
  extensions: string[];
  /** The HTTP API's listener on another address than 127.0.0.1 (`--http-host`), as a URL. */
  httpRemote?: string;
}

/** Returns the node's API key, creating a random one (mode 0600) at first use unless one is given. */
export function ensureApiKey(datadir: string, given?: string): string {
  const path = join(datadir, API_KEY_FILE);
  mkdirSync(datadir, { recursive: true, mode: 0o700 });
  if (given !== undefined) {
    writeFileSync(path, given + '\n', { mode: 0o600 });
    chmodSync(path, 0o600);
    return given;
  }
  return readApiKey(datadir) ?? createKey(path);
}

/** Returns the file servers' key, creating a random one (mode 0600) at first use. */
export function ensureServeKey(datadir: string): string {
  mkdirSync(datadir, { recursive: true, mode: 0o700 });
  return readServeKey(datadir) || createKey(join(datadir, SERVE_KEY_FILE));
}

function createKey(path: string): string {
  const key = randomBytes(32).toString('hex');
  writeFileSync(path, key + '\n', { mode: 0o600 });
  return key;
}

function readKey(path: string): string | null {
  return existsSync(path) ? readFileSync(path, 'utf8').trim() : null;
}

export function readApiKey(datadir: string): string | null {
  return readKey(join(datadir, API_KEY_FILE));
}

export function readServeKey(datadir: string): string | null {
  return readKey(join(datadir, SERVE_KEY_FILE));
}

export function writeRuntime(datadir: string, info: RuntimeInfo): void {
  const tmp = join(datadir, `${RUNTIME_FILE}.tmp`);
  writeFileSync(tmp, JSON.stringify(info, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, join(datadir, RUNTIME_FILE));
}

export function readRuntime(datadir: string): RuntimeInfo | null {
  try {
    return JSON.parse(readFileSync(join(datadir, RUNTIME_FILE), 'utf8')) as RuntimeInfo;
  } catch {
    return null;
  }
}

export function removeRuntime(datadir: string, pid = process.pid): void {
  const info = readRuntime(datadir);
  if (info && info.pid === pid) rmSync(join(datadir, RUNTIME_FILE), { force: true });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** node.json of a node whose process still lives; a file left by a killed node counts as none. */
export function liveRuntime(datadir: string): RuntimeInfo | null {
  const info = readRuntime(datadir);
  return info && isAlive(info.pid) ? info : null;
}
