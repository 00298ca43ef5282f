/**
 * `cloudcoin serve` as a real child process for tests; stopped (SIGTERM, then
 * SIGKILL) in the test's teardown.
 */
import type { ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { freePorts } from '../../src/lib/devnet/ports.js';
import { BIN, TEST_PASSPHRASE } from './cli.js';

export interface ServeProcess {
  url: string;
  port: number;
  child: ChildProcess;
  stderr(): string;
  stop(): Promise<number>;
}

export async function serveProcess(t: ExecutionContext, args: string[], env: Record<string, string> = {}): Promise<ServeProcess> {
  const [port] = await freePorts(1);
  const child = spawn(process.execPath, [BIN, 'serve', '--port', String(port), '--host', '127.0.0.1', '--json', ...args], {
    env: { ...process.env, NODE_ENV: '', CLOUDCOIN_PASSPHRASE: TEST_PASSPHRASE, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => { err += d; });
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  t.teardown(() => stop().then(() => undefined));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('"listening"')) resolve();
    });
    exited.then((code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
  return { url: `http://127.0.0.1:${port}`, port, child, stderr: () => err, stop };
}
