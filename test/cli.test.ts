import test from 'ava';
import { readdirSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { cli, ROOT } from './util/cli.js';
import { devNode, tempDir } from './util/devnode.js';

function commandIds(): string[] {
  const base = join(ROOT, 'dist', 'src', 'commands');
  const ids: string[] = [];
  for (const topic of readdirSync(base)) {
    const dir = join(base, topic);
    if (topic.endsWith('.js')) ids.push(topic.slice(0, -3));
    if (!statSync(dir).isDirectory()) continue;
    for (const f of readdirSync(dir)) if (f.endsWith('.js')) ids.push(`${topic} ${f.slice(0, -3)}`);
  }
  return ids;
}

test('every command has --help with examples, and a --json flag', async (t) => {
  const ids = commandIds();
  t.true(ids.length >= 12);
  await Promise.all(ids.map(async (id) => {
    const r = await cli([...id.split(' '), '--help']);
    t.is(r.code, 0, id);
    t.regex(r.stdout, /EXAMPLES/, `${id} has examples`);
    t.regex(r.stdout, /--json/, `${id} has --json`);
    t.regex(r.stdout, /EXIT STATUS/, `${id} documents exit codes`);
  }));
});

function oneLineError(t: any, r: { stderr: string }, pattern: RegExp) {
  const lines = r.stderr.trim().split('\n');
  t.is(lines.length, 1, `one line on stderr, got: ${r.stderr}`);
  t.regex(lines[0], pattern);
}

test('node not running: one line, exit 3, and a JSON error with --json', async (t) => {
  const datadir = tempDir(t);
  const r = await cli(['node', 'status', '--datadir', datadir, '--network', 'dev']);
  t.is(r.code, 3);
  oneLineError(t, r, /^error: the node is not running/);
  const j = await cli(['wallet', 'balance', '--datadir', datadir, '--network', 'dev', '--json']);
  t.is(j.code, 3);
  t.is(j.json.error.code, 'ENOTRUNNING');
});

test('a bad flag is a usage error with exit 2', async (t) => {
  const r = await cli(['node', 'status', '--network', 'nonet']);
  t.is(r.code, 2);
  oneLineError(t, r, /^error: /);
});

test('an argument oclif checks itself (a directory that is a file, or missing) is a usage error with exit 2', async (t) => {
  const file = join(tempDir(t), 'a-file');
  await writeFile(file, 'x');
  const notDir = await cli(['store', 'push', file]);
  t.is(notDir.code, 2);
  oneLineError(t, notDir, /^error: .*a-file exists but is not a directory$/);
  const missing = await cli(['store', 'push', join(file, 'nope')]);
  t.is(missing.code, 2);
  oneLineError(t, missing, /^error: No directory found at /);
});

test.serial('wallet errors: wrong passphrase, invalid address, insufficient funds; a port in use', async (t) => {
  const node = await devNode(t);
  await node.run(['node', 'mine', '101']);
  const to = (await node.run(['wallet', 'address', '--new'])).json.address;

  const wrong = await node.run(['wallet', 'send', to, '1'], { CLOUDCOIN_PASSPHRASE: 'not the passphrase' });
  t.is(wrong.code, 4);
  oneLineError(t, wrong, /^error: wrong wallet passphrase$/);
  t.is(wrong.json.error.code, 'EPASSPHRASE');

  const invalid = await node.run(['wallet', 'send', 'bc1qnotours', '1']);
  t.is(invalid.code, 2);
  oneLineError(t, invalid, /^error: invalid address for the dev network/);

  const poor = await node.run(['wallet', 'send', to, '1000000']);
  t.is(poor.code, 5);
  oneLineError(t, poor, /^error: insufficient funds/);

  const badAmount = await node.run(['wallet', 'send', to, '1.123456789']);
  t.is(badAmount.code, 2);

  // Nothing was sent by any of the failures.
  t.deepEqual((await node.run(['wallet', 'history'])).json.transactions.filter((tx: any) => tx.amount < 0), []);

  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  const port = (blocker.address() as { port: number }).port;
  const other = tempDir(t);
  const busy = await cli(['node', 'start', '--detach', '--network', 'dev', '--datadir', other, '--port', String(port)]);
  t.is(busy.code, 7);
  oneLineError(t, busy, new RegExp(`^error: P2P port ${port} is already in use$`));

  const again = await cli(['node', 'start', '--detach', '--network', 'dev', '--datadir', node.datadir, '--port', String(node.port)]);
  t.is(again.code, 7);
  oneLineError(t, again, /^error: a node is already running/);

  await node.stop();
  const wrongAtStart = await cli(['node', 'start', '--detach', '--network', 'dev', '--datadir', node.datadir,
    '--port', String(node.port), '--http-port', String(node.httpPort), '--wallet-port', String(node.walletPort)], { env: { CLOUDCOIN_PASSPHRASE: 'wrong' } });
  t.is(wrongAtStart.code, 4);
  oneLineError(t, wrongAtStart, /^error: wrong wallet passphrase in CLOUDCOIN_PASSPHRASE$/);
  t.is(node.pid(), null, 'nothing keeps running after a refused start');
});

test('mining is refused off the dev network', async (t) => {
  const node = await devNode(t, { network: 'test' });
  const r = await node.run(['node', 'mine', '1']);
  t.is(r.code, 2);
  t.regex(r.stderr, /dev network only/);
});

test('store key export: no key and a damaged renter key are usage errors with their codes', async (t) => {
  const datadir = tempDir(t);
  const base = ['--datadir', datadir, '--network', 'dev', '--json'];
  const noKey = await cli(['store', 'key', 'export', ...base]);
  t.is(noKey.code, 2);
  t.is(noKey.json.error.code, 'ENOKEY');
  oneLineError(t, noKey, /^error: no key file at .*run `cloudcoin store init`$/);

  t.is((await cli(['store', 'init', ...base])).code, 0);
  await writeFile(join(datadir, 'store', 'renter.key'), '{"nonce": "trunc');
  const damaged = await cli(['store', 'key', 'export', ...base]);
  t.is(damaged.code, 2);
  t.is(damaged.json.error.code, 'EKEYFILE');
  oneLineError(t, damaged, /^error: .*renter\.key does not hold a renter key sealed by this store key$/);
});
