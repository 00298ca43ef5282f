/**
 * Issue 4 on real nodes: a host's file server serves the contracts its
 * Negotiator signed, whether it asks the node of its own data directory or,
 * with only a URL and an API key, a node elsewhere; and it keeps serving
 * known contracts while that Negotiator is stopped.
 */
import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileServerClient, FileServerError } from '../src/lib/server/index.js';
import { readRuntime } from '../src/lib/node/datafiles.js';
import { cli, cliOk } from './util/cli.js';
import { tempDir } from './util/devnode.js';
import { serveProcess } from './util/serve.js';

test.serial('a negotiated contract is served locally and through a remote Negotiator, which may then stop', async (t) => {
  const dir = join(tempDir(t), 'devnet');
  t.teardown(() => cli(['devnet', 'down', '--dir', dir]).then(() => undefined));
  const { participants } = (await cliOk(['devnet', 'up', '--hosts', '1', '--dir', dir, '--json'])).json;
  const [renter, host] = participants;
  const offer = (await cliOk(['contract', 'offer', '--datadir', host.datadir, '--price', '10', '--collateral', '20',
    '--min-size', '1MiB', '--min-duration', '10', '--url', host.serverUrl, '--json'])).json.offer;
  const accepted = await cliOk(['contract', 'accept', offer.hash, '--size', '8MiB', '--duration', '50', '--datadir', renter.datadir, '--json']);
  const contractId = accepted.json.negotiation.contractId;
  await cliOk(['node', 'mine', '1', '--datadir', renter.datadir]);

  const renterKey = Buffer.from(readFileSync(join(renter.datadir, 'negotiator.key'), 'utf8').trim(), 'hex');
  const sector = randomBytes(1 << 20);
  const sectorId = createHash('sha256').update(sector).digest('hex');
  const local = new FileServerClient({ url: host.serverUrl, contractId, secretKey: renterKey, retries: 0 });
  await t.notThrowsAsync(async () => {
    // The host's node may see the funding block a moment after the renter's.
    for (let i = 0; ; i++) {
      try { return await local.put(sectorId, sector); } catch (err) { if (i > 50) throw err; await new Promise((r) => setTimeout(r, 200)); }
    }
  });
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
