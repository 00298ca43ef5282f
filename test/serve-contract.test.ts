/**
 * Issue 4 on real nodes: a host's file server serves the contracts its
 * Negotiator signed, whether it asks the node of its own data directory or,
 * with only a URL and an API key, a node elsewhere; and it keeps serving
 * known contracts while that Negotiator is stopped. Past the contract's end it
 * is read and not written, and past its refund height not served at all.
 */
import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudCoinError } from '../src/lib/errors.js';
import { parseCacheTtl } from '../src/lib/server/authority-cache.js';
import { FileServerClient, FileServerError } from '../src/lib/server/index.js';
import { readRuntime } from '../src/lib/node/datafiles.js';
import { cliOk } from './util/cli.js';
import { tempDir } from './util/devnode.js';
import { negotiated, serveProcess } from './util/serve.js';

test.serial('a negotiated contract is served locally and through a remote Negotiator, which may then stop', async (t) => {
  const { host, contractId, renterKey } = await negotiated(t, 50);
  const sector = randomBytes(1 << 20);
  const sectorId = createHash('sha256').update(sector).digest('hex');
  const local = new FileServerClient({ url: host.serverUrl, contractId, secretKey: renterKey, retries: 0 });
  // The host's node may see the funding block a moment after the renter's.
  await t.notThrowsAsync(until(() => local.put(sectorId, sector)));
  t.true(Buffer.from(await local.get(sectorId)).equals(sector));
  const tooBig = await t.throwsAsync(local.put('ee'.repeat(32), randomBytes(4 << 20)).then(() => local.put('ef'.repeat(32), randomBytes(4 << 20))), { instanceOf: FileServerError });
  t.is(tooBig!.status, 413, 'uploads beyond the contract size are refused');

  const hostNode = readRuntime(host.datadir)!;
  const apiKey = readFileSync(join(host.datadir, 'api.key'), 'utf8').trim();
  const remote = await serveProcess(t, ['--storage', join(tempDir(t), 'sectors'), '--negotiator', `http://127.0.0.1:${hostNode.httpPort}`],
    { CLOUDCOIN_API_KEY: apiKey });
  const viaRemote = new FileServerClient({ url: remote.url, contractId, secretKey: renterKey, retries: 0 });
  await viaRemote.put(sectorId, sector);
  t.true(Buffer.from(await viaRemote.get(sectorId)).equals(sector));

  await cliOk(['node', 'stop', '--datadir', host.datadir]);
  t.true(Buffer.from(await viaRemote.get(sectorId)).equals(sector), 'a known contract is still served with its Negotiator stopped');
  const unknown = new FileServerClient({ url: remote.url, contractId: 'ab'.repeat(32), secretKey: renterKey, retries: 0 });
  await t.throwsAsync(unknown.get(sectorId), { instanceOf: FileServerError });
});

test('--cache-ttl is a time of at least a second, in milliseconds', (t) => {
  t.is(parseCacheTtl('30s'), 30_000);
  t.is(parseCacheTtl('2m'), 120_000);
  t.is(parseCacheTtl('5'), 5_000);
  for (const bad of ['0', '0s', 'soon', '-1']) t.throws(() => parseCacheTtl(bad), { instanceOf: CloudCoinError }, bad);
});

test.serial('past its end a contract is read and not written; past its refund height nothing is served', async (t) => {
  // The devnet's file server inherits this: it learns of the end and the refund height within a second, not the default 30 s.
  process.env.CLOUDCOIN_SERVE_CACHE_TTL = '1s';
  t.teardown(() => {
    delete process.env.CLOUDCOIN_SERVE_CACHE_TTL;
  });
  const { renter, host, contractId, renterKey } = await negotiated(t, 10);
  const client = new FileServerClient({ url: host.serverUrl, contractId, secretKey: renterKey, retries: 0 });
  const sector = randomBytes(100_000);
  const sectorId = createHash('sha256').update(sector).digest('hex');
  await until(() => client.put(sectorId, sector));

  const info = (await cliOk(['contract', 'show', contractId, '--datadir', host.datadir, '--json'])).json;
  const tip = async () => (await cliOk(['node', 'status', '--datadir', host.datadir, '--json'])).json.height as number;
  const mineTo = async (height: number) => {
    const missing = height - (await tip());
    if (missing > 0) await cliOk(['node', 'mine', String(missing), '--datadir', renter.datadir]);
    await until(async () => {
      if ((await tip()) < height) throw new Error(`the host's node is not at ${height} yet`);
    });
  };

  await mineTo(info.endHeight);
  // The server may use the answer it cached while the contract was active for up to its TTL.
  const ended = await until(() => client.put('ab'.repeat(32), sector).then(() => { throw new Error('still written'); }, (err: FileServerError) => err));
  t.is(ended.status, 403);
  t.is(ended.code, 'contract-ended');
  t.true(Buffer.from(await client.get(sectorId)).equals(sector), 'read after the end');
  // A put the cached answer still let through is held too: the roots are those of what is held.
  const held = (await client.list()).sectors.map((s) => s.id);
  t.true(held.includes(sectorId));
  t.deepEqual((await client.roots()).map((s) => s.id), held);

  await mineTo(info.refundHeight);
  const gone = await until(() => client.get(sectorId).then(() => { throw new Error('still read'); }, (err: FileServerError) => err));
  t.is(gone.status, 403);
  t.is(gone.code, 'contract-not-live');
});

/** `fn`'s result once it stops throwing, trying every 500 ms for up to 40 s (a node sees blocks, a server's cache expires). */
async function until<T>(fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= 80) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
