/**
 * Starting a node in the background and stopping a running one. A detached
 * node is the same `cloudcoin node start` in a child process whose output goes
 * to node.log and whose pid is in node.pid; it is ready once it has written
 * node.json.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CloudCoinError, ExitCode, saysPortInUse, type ExitCodeValue } from '../errors.js';
import { isAlive, liveRuntime, LOG_FILE, PID_FILE, readRuntime, type RuntimeInfo } from './datafiles.js';

export async function startDetached(bin: string, args: string[], datadir: string, timeoutMs = 60_000): Promise<RuntimeInfo> {
  const running = liveRuntime(datadir);
  if (running) throw new CloudCoinError('ERUNNING', `a node is already running on ${datadir} (pid ${running.pid})`, ExitCode.conflict);
  mkdirSync(datadir, { recursive: true, mode: 0o700 });
  const logPath = join(datadir, LOG_FILE);
  const log = openSync(logPath, 'a');
  const child = spawn(process.execPath, [bin, ...args], { detached: true, stdio: ['ignore', log, log], env: process.env });
  closeSync(log);
  const pid = child.pid;
  if (pid === undefined) throw new CloudCoinError('ESPAWN', 'could not start the node process');
  let exitCode: number | null = null;
  child.once('exit', (code) => { exitCode = code ?? 1; });
  child.unref();
  writeFileSync(join(datadir, PID_FILE), `${pid}\n`);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const info = readRuntime(datadir);
    if (info && info.pid === pid) return info;
    if (exitCode !== null) {
      rmSync(join(datadir, PID_FILE), { force: true });
      // The child is this same CLI, so its exit code already has the documented meaning.
      const code = (Object.values(ExitCode) as number[]).includes(exitCode) ? (exitCode as ExitCodeValue) : ExitCode.failure;
      const said = lastError(logPath);
      throw new CloudCoinError(saysPortInUse(said) ? 'EPORTINUSE' : 'ESTART', said ?? `the node exited with code ${exitCode}; see ${logPath}`, code);
    }
    await sleep(100);
  }
  process.kill(pid, 'SIGTERM');
  throw new CloudCoinError('ESTART', `the node did not become ready within ${timeoutMs / 1000} s; see ${logPath}`);
}

/** The last `error: …` line the child wrote, which is the CLI's one-line error. */
export function lastError(logPath: string): string | null {
  const lines = readFileSync(logPath, 'utf8').split('\n').filter((l) => l.startsWith('error: '));
  return lines.length ? lines[lines.length - 1].slice('error: '.length) : null;
}

/** Asks the node to shut down (SIGTERM: it closes its databases) and waits until its process is gone. */
export async function stopNode(datadir: string, timeoutMs = 60_000): Promise<RuntimeInfo> {
  const info = liveRuntime(datadir);
  if (!info) throw new CloudCoinError('ENOTRUNNING', `the node is not running on ${datadir}`, ExitCode.nodeNotRunning);
  process.kill(info.pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (isAlive(info.pid)) {
    if (Date.now() > deadline) throw new CloudCoinError('ESTOP', `the node (pid ${info.pid}) did not stop within ${timeoutMs / 1000} s`);
    await sleep(100);
  }
  rmSync(join(datadir, PID_FILE), { force: true });
  return info;
}

/**
 * stopNode, and SIGKILL for a node still running `timeoutMs` after SIGTERM;
 * true when it stopped by itself. For throwaway nodes (the devnet's), where
 * a stop that hangs must not leave a process behind.
 */
export async function stopNodeOrKill(datadir: string, timeoutMs: number): Promise<boolean> {
  try {
    await stopNode(datadir, timeoutMs);
    return true;
  } catch (err) {
    if (!(err instanceof CloudCoinError && err.code === 'ESTOP')) throw err;
  }
  const info = liveRuntime(datadir);
  if (info) {
    process.kill(info.pid, 'SIGKILL');
    while (isAlive(info.pid)) await sleep(50);
  }
  rmSync(join(datadir, PID_FILE), { force: true });
  return false;
}
