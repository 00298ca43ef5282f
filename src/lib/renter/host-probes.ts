/**
 * The throughput each host's probe last measured, kept in
 * `<datadir>/store/host-probes.json` by host key. A file server limits
 * probes (4 a minute an address, about 1 MiB/s from everyone), so an honest
 * host may refuse a renter that probed it a moment ago, or while others
 * probe it; choosing then scores the host on what it gave this renter
 * before (host-choice.ts) rather than on nothing.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CloudCoinError, ExitCode } from '../errors.js';

/** Hosts remembered: every host of a large market, and a small file. */
export const REMEMBERED_HOSTS = 1_000;
/** A figure older than this says little of the host's link now, and is not used. */
export const REMEMBERED_MS = 7 * 24 * 3600 * 1000;

interface Remembered {
  bytesPerSecond: number;
  /** When it was measured, ms since the epoch. */
  at: number;
}

function _path(datadir: string): string {
  return join(datadir, 'store', 'host-probes.json');
}

function _isRemembered(v: unknown): v is Remembered {
  const r = v as Remembered;
  return typeof r === 'object' && r !== null && Number.isFinite(r.bytesPerSecond) && r.bytesPerSecond > 0 && Number.isFinite(r.at);
}

async function _read(datadir: string, now: number): Promise<Map<string, Remembered>> {
  const path = _path(datadir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err: any) {
    if (err.code === 'ENOENT') return new Map();
    throw new CloudCoinError('ESTATE', `${path} is not readable: ${err.message}`, ExitCode.failure);
  }
  let hosts: unknown;
  try {
    hosts = JSON.parse(text).hosts;
  } catch {
    // Figures only: losing them costs one round of neutral scores, and the next measurement writes the file whole.
    return new Map();
  }
  if (typeof hosts !== 'object' || hosts === null) return new Map();
  return new Map(Object.entries(hosts).filter((e): e is [string, Remembered] => _isRemembered(e[1]) && now - e[1].at <= REMEMBERED_MS));
}

/** Bytes a second each host's probe last gave, by host key, none older than REMEMBERED_MS. */
export async function rememberedThroughput(datadir: string, now = Date.now()): Promise<Map<string, number>> {
  return new Map([...(await _read(datadir, now))].map(([key, r]) => [key, r.bytesPerSecond]));
}

/**
 * Adds `measured` (bytes a second by host key) to the file, read again just
 * before, so that the daemon and a command measuring at once lose little of
 * each other's; keeps the REMEMBERED_HOSTS measured last.
 */
export async function rememberThroughput(datadir: string, measured: Map<string, number>, now = Date.now()): Promise<void> {
  if (measured.size === 0) return;
  const hosts = await _read(datadir, now);
  for (const [key, bytesPerSecond] of measured) hosts.set(key, { bytesPerSecond, at: now });
  const kept = [...hosts].sort((a, b) => b[1].at - a[1].at || a[0].localeCompare(b[0])).slice(0, REMEMBERED_HOSTS);
  const path = _path(datadir);
  // Its own temporary name: the daemon and a command may write at once, and each rename must find its own file.
  const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  await mkdir(join(datadir, 'store'), { recursive: true, mode: 0o700 });
  await writeFile(tmp, JSON.stringify({ hosts: Object.fromEntries(kept) }, null, 2) + '\n', { mode: 0o600 });
  await rename(tmp, path);
}
