import test from 'ava';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair } from '../src/lib/crypto/sig.js';
import { FileServerClient, FileServerError } from '../src/lib/server/index.js';
import { cli } from './util/cli.js';
import { devNode, tempDir, waitFor } from './util/devnode.js';
import { serveProcess } from './util/serve.js';

test.serial('serve asks the node of its data directory; an unknown contract is refused and nothing is written', async (t) => {
  const node = await devNode(t);
  const storage = join(tempDir(t), 'sectors');
  const server = await serveProcess(t, ['--datadir', node.datadir, '--network', 'dev', '--storage', storage, '--log-format', 'json']);

  const status = await fetch(`${server.url}/`, { headers: { accept: 'application/json' } });
  t.is(status.status, 200);

  const renter = generateKeyPair();
  const client = new FileServerClient({ url: server.url, contractId: 'ab'.repeat(32), secretKey: renter.secretKey, retries: 0 });
  const err = await t.throwsAsync(client.put('cd'.repeat(32), new Uint8Array(1000)), { instanceOf: FileServerError });
  t.true(err!.status === 403 || err!.status === 404, `refused with ${err!.status}`);
  const files = readdirSync(storage, { recursive: true }).filter((f) => !String(f).startsWith('tmp') && String(f).endsWith('.sector'));
  t.deepEqual(files, []);
  await waitFor(() => /"method":"PUT".*"status":(403|404)/.test(server.stderr()), 5000, 'the PUT log line');
  t.is(server.stderr().trim().split('\n').length, 2, 'one JSON log line a request');
  t.is(await server.stop(), 0, 'SIGTERM stops it cleanly');
});

test('serve without a node key, with --negotiator but no key, or with a bad --host-key is a usage error', async (t) => {
  const dir = tempDir(t);
  const noKey = await cli(['serve', '--datadir', dir, '--network', 'dev', '--port', '0']);
  t.is(noKey.code, 2);
  t.regex(noKey.stderr, /^error: no node API key/);
  const remote = await cli(['serve', '--datadir', dir, '--network', 'dev', '--negotiator', 'http://127.0.0.1:1', '--port', '0'], { env: { CLOUDCOIN_API_KEY: undefined } });
  t.is(remote.code, 2);
  t.regex(remote.stderr, /--negotiator needs --api-key/);
  const badHostKey = await cli(['serve', '--datadir', dir, '--network', 'dev', '--negotiator', 'http://127.0.0.1:1', '--host-key', 'zz', '--port', '0'], { env: { CLOUDCOIN_API_KEY: 'k' } });
  t.is(badHostKey.code, 2);
  t.regex(badHostKey.stderr, /--host-key must be/);
});
