/**
 * Runs the real `cloudcoin` CLI (bin/run.js on the built dist/) as a child
 * process, the way users and cron run it.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin', 'run.js');

if (!existsSync(join(ROOT, 'dist', 'src', 'commands'))) {
  throw new Error('dist/ is missing: run the tests with `npm test`, which builds first');
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON when it is JSON. */
  json: any;
}

export const TEST_PASSPHRASE = 'correct horse battery staple';

export async function cli(args: string[], opts: { env?: Record<string, string | undefined>; timeoutMs?: number } = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, CLOUDCOIN_PASSPHRASE: TEST_PASSPHRASE, CLOUDCOIN_DATADIR: undefined, CLOUDCOIN_NETWORK: undefined, NODE_ENV: undefined, ...opts.env };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  clearTimeout(timer);
  let json: any = null;
  try {
    json = JSON.parse(stdout);
  } catch {
    json = null;
  }
  return { code, stdout, stderr, json };
}

/** Like cli(), but fails with the CLI's own error when it exits non-zero. */
export async function cliOk(args: string[], opts: { env?: Record<string, string | undefined> } = {}): Promise<CliResult> {
  const r = await cli(args, opts);
  if (r.code !== 0) throw new Error(`cloudcoin ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r;
}
