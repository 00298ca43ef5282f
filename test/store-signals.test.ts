/**
 * SIGINT and SIGTERM while a store command runs (storeSignals, used by
 * withStore), in a process of their own: the first aborts the operation's
 * signal with the error the command ends with, a second exits at once, and
 * once the command is done the default (being killed) is back. The whole path
 * through the CLI is in store-e2e.test.ts.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

interface Child {
  /** The next line the child prints. */
  line(): Promise<string>;
  send(signal: NodeJS.Signals): void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** A process that takes the store commands' signal handling, says `ready`, prints the abort reason when it comes, and waits. */
async function child(t: ExecutionContext, off: boolean): Promise<Child> {
  const dir = await mkdtemp(join(tmpdir(), 'cc-signals-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const script = join(dir, 'child.mts');
  await writeFile(
    script,
    `import { storeSignals } from ${JSON.stringify(resolve('src/lib/cli/store.js'))};
const s = storeSignals();
s.signal.addEventListener('abort', () => {
  const r = s.signal.reason;
  console.log(JSON.stringify({ code: r.code, message: r.message, exitCode: r.exitCode }));
});
${off ? 's.off();' : ''}
setInterval(() => undefined, 1000);
console.log('ready');
`,
  );
  const p = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => p.kill('SIGKILL'));
  let stderr = '';
  p.stderr.on('data', (d) => (stderr += d));
  const lines = createInterface({ input: p.stdout })[Symbol.asyncIterator]();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((r) => p.on('close', (code, signal) => r({ code, signal, stderr })));
  const c = { line: async () => (await lines.next()).value as string, send: (signal: NodeJS.Signals) => p.kill(signal), exited };
  if ((await c.line()) !== 'ready') throw new Error(`child did not start: ${stderr}`);
  return c;
}

test('the first SIGINT aborts with EINTERRUPTED, exit 130, and the process goes on; a second signal exits at once with its own code', async (t) => {
  const c = await child(t, false);
  c.send('SIGINT');
  t.deepEqual(JSON.parse(await c.line()), { code: 'EINTERRUPTED', message: 'interrupted (SIGINT)', exitCode: 130 });
  c.send('SIGTERM');
  const end = await c.exited;
  t.is(end.code, 143);
  t.is(end.stderr, 'interrupted (SIGTERM) again: stopped at once, without cleaning up\n');
});

test('the first SIGTERM aborts with exit 143', async (t) => {
  const c = await child(t, false);
  c.send('SIGTERM');
  t.deepEqual(JSON.parse(await c.line()), { code: 'EINTERRUPTED', message: 'interrupted (SIGTERM)', exitCode: 143 });
  c.send('SIGINT');
  t.is((await c.exited).code, 130);
});

test('once off() has run, a signal kills the process as it would have without them', async (t) => {
  const c = await child(t, true);
  c.send('SIGTERM');
  const end = await c.exited;
  t.deepEqual([end.code, end.signal, end.stderr], [null, 'SIGTERM', '']);
});
