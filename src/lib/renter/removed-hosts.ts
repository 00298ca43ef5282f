/**
 * Hosts the renter has removed (`store hosts remove`), kept in
 * `<datadir>/store/removed-hosts.json`. Removal only marks: the store keeps
 * reading a removed host's shards until repair has moved them, while the
 * daemon neither renews its contracts nor chooses it again, and choosing
 * counts it as a host to replace.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CloudCoinError, ExitCode } from '../errors.js';

function _path(datadir: string): string {
  return join(datadir, 'store', 'removed-hosts.json');
}

/** Host keys removed; none when the file does not exist. */
export async function removedHosts(datadir: string): Promise<Set<string>> {
  const path = _path(datadir);
  try {
    const j = JSON.parse(await readFile(path, 'utf8'));
    return new Set(Array.isArray(j.removed) ? j.removed.filter((k: unknown) => typeof k === 'string') : []);
  } catch (err: any) {
    if (err.code === 'ENOENT') return new Set();
    throw new CloudCoinError('ESTATE', `${path} is not readable: ${err.message}`, ExitCode.failure);
  }
}

/** Marks `hostKey` removed, or (`removed` false) takes it back; replaces the file whole. */
export async function markHostRemoved(datadir: string, hostKey: string, removed = true): Promise<Set<string>> {
  const keys = await removedHosts(datadir);
  if (removed) keys.add(hostKey);
  else keys.delete(hostKey);
  const path = _path(datadir);
  await mkdir(join(datadir, 'store'), { recursive: true, mode: 0o700 });
  await writeFile(`${path}.tmp`, JSON.stringify({ removed: [...keys].sort() }, null, 2) + '\n', { mode: 0o600 });
  await rename(`${path}.tmp`, path);
  return keys;
}
