/**
 * A renter reaches a host it learnt of only through its offer
 * (docs/protocol.md §8.2): three real nodes, the host and the renter each
 * connected only to a third; the offer, gossiped through it, carries the
 * host node's address; `contract accept` dials it at once (no peer of the
 * renter's can be the host), the contract is funded, and a store push and
 * pull go to the host's file server.
 */
import test from 'ava';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mine, ok, rpc } from './contract-util.js';
import { cli, cliOk } from './util/cli.js';
import { devNode, tempDir, waitFor, waitForLog } from './util/devnode.js';
import { serveProcess } from './util/serve.js';
import { walkTree } from './util/tree.js';

test('contract accept dials the host at its offer\'s address; push and pull go through it; nobody was told of the other', async (t) => {
  t.timeout(240_000);
  const relay = await devNode(t);
  const host = await devNode(t, { peers: [relay] });
  const renter = await devNode(t, { peers: [relay] });
  const all = [relay, host, renter];
  await ok(relay, ['node', 'mine', '1', '--address', (await ok(host, ['wallet', 'address'])).address]);
  await ok(relay, ['node', 'mine', '1', '--address', (await ok(renter, ['wallet', 'address'])).address]);
  await mine(relay, 101, all);

  const peersOf = async (n: typeof host): Promise<string[]> => (await rpc(n, 'getpeerinfo')).map((p: { addr: string }) => p.addr);
  const server = await serveProcess(t, ['--datadir', host.datadir, '--storage', join(tempDir(t), 'sectors')]);
  const offer = (await ok(host, ['contract', 'offer', '--price', '10', '--collateral', '20', '--min-size', '1MiB', '--min-duration', '10', '--url', server.url])).offer;
  t.deepEqual(offer.addresses, [`127.0.0.1:${host.port}`], 'the offer carries the address the host node listens on');

  const seen = await waitFor(async () => (await ok(renter, ['contract', 'offers'])).offers.find((o: any) => o.hash === offer.hash), 30_000, 'the offer reaching the renter through the relay');
  t.deepEqual(seen.addresses, offer.addresses, 'the address arrives signed with the offer');
  const before = await peersOf(renter);
  t.deepEqual(before, [`127.0.0.1:${relay.port}`], 'the renter is connected to the relay only');

  const accepted = await ok(renter, ['contract', 'accept', offer.hash, '--size', '8MiB', '--duration', '40', '--timeout', '60']);
  t.truthy(accepted.txid);
  t.true((await peersOf(renter)).includes(`127.0.0.1:${host.port}`), 'the renter dialled the host');
  // The one peer is the relay, which the renter dialled: no peer can be the host, so the dial went out at once, not after the fallback delay.
  await waitForLog(renter, `${accepted.negotiation.nid.slice(0, 16)}: no connected peer is the host: dialling 127.0.0.1:${host.port}`);
  await mine(renter, 1, all);
  await waitFor(async () => (await ok(renter, ['contract', 'list'])).contracts.find((c: any) => c.id === accepted.negotiation.contractId)?.state === 'active', 30_000, 'the contract active');

  const source = join(tempDir(t), 'source');
  await mkdir(join(source, 'sub'), { recursive: true });
  await writeFile(join(source, 'a.bin'), Buffer.alloc(3_000_000, 1));
  await writeFile(join(source, 'sub', 'b.txt'), 'reached through its offer\n');
  await cliOk(['store', 'init', '--datadir', renter.datadir]);
  const push = (await cliOk(['store', 'push', source, '--total-shards', '1', '--datadir', renter.datadir, '--json'])).json;
  t.is(push.hosts, 1);
  const target = join(tempDir(t), 'restored');
  await cliOk(['store', 'pull', push.snapshot, target, '--datadir', renter.datadir]);
  t.deepEqual((await walkTree(target)).entries, (await walkTree(source)).entries);
});

test('node start --external-address takes an IP and an optional port, else a one-line usage error', async (t) => {
  const r = await cli(['node', 'start', '--network', 'dev', '--datadir', join(tempDir(t), 'node'), '--external-address', 'host.example:1']);
  t.is(r.code, 2);
  t.is(r.stderr, 'error: --external-address must be an IP address and an optional port (203.0.113.7, [2001:db8::7]:48444), got "host.example:1"\n');
});
