/**
 * A host's file server in the background, for the devnet: `cloudcoin serve`
 * detached, its pid in serve.pid and its log in serve.log of the host's data
 * directory, ready once its status page answers.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CloudCoinError, saysPortInUse } from '../errors.js';
import { lastError } from '../node/control.js';
import { isAlive } from '../node/datafiles.js';

export const SERVE_PID_FILE = 'serve.pid';
export const SERVE_LOG_FILE = 'serve.log';

export async function startServerDetached(bin: string, datadir: string, port: number, timeoutMs = 30_000): Promise<{ pid: number; url: string }> {
  const log = openSync(join(datadir, SERVE_LOG_FILE), 'a');
  const child = spawn(process.execPath, [bin, 'serve', '--datadir', datadir, '--network', 'dev', '--port', String(port), '--host', '127.0.0.1', '--log-format', 'json'], {
    detached: true,
    stdio: ['ignore', log, log],
    env: process.env,
  });
  closeSync(log);
  child.unref();
  const pid = child.pid!;
  writeFileSync(join(datadir, SERVE_PID_FILE), `${pid}\n`);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(1000) });
      if (res.ok) return { pid, url };
    } catch {
      // not listening yet
    }
    if (!isAlive(pid)) {
      const said = lastError(join(datadir, SERVE_LOG_FILE));
      if (saysPortInUse(said)) throw new CloudCoinError('EPORTINUSE', said!);
      throw new CloudCoinError('ESERVE', `the file server in ${datadir} exited; see ${join(datadir, SERVE_LOG_FILE)}`);
    }
    if (Date.now() > deadline) throw new CloudCoinError('ESERVE', `the file server in ${datadir} did not answer within ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

export function serverPid(datadir: string): number | null {
  try {
    const pid = Number(readFileSync(join(datadir, SERVE_PID_FILE), 'utf8'));
    return Number.isInteger(pid) && isAlive(pid) ? pid : null;
  } catch {
    return null;
  }
}

export async function stopServer(datadir: string, timeoutMs = 35_000): Promise<boolean> {
  const pid = serverPid(datadir);
  if (pid === null) return false;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) process.kill(pid, 'SIGKILL');
    await sleep(100);
  }
  rmSync(join(datadir, SERVE_PID_FILE), { force: true });
  return true;
}
