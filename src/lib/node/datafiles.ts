/**
 * The files through which a running node is found: the API key (created at
 * first start, mode 0600) and node.json (written when the node is ready,
 * removed when it stops). Every other command reads these to reach the node.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, renameSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import type { NetworkName } from '../chain/names.js';

export const API_KEY_FILE = 'api.key';
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
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const key = randomBytes(32).toString('hex');
  writeFileSync(path, key + '\n', { mode: 0o600 });
  return key;
}

export function readApiKey(datadir: string): string | null {
  const path = join(datadir, API_KEY_FILE);
  return existsSync(path) ? readFileSync(path, 'utf8').trim() : null;
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
