/**
 * `store hosts` on a live devnet whose three hosts ask different prices: the
 * renter's choice takes the cheapest first and never a host over the
 * policy's highest price, adds a host by hand once and only once, lists its
 * hosts with what it measured, and counts a removed host as one to replace,
 * which the daemon does on its own once config.json holds a policy.
 */
import test from 'ava';
import { readFileConfig, writeFileConfig } from '../src/lib/config/settings.js';
import { peerWithRenter } from '../src/lib/devnet/contracts.js';
import { createOffer, listContracts, listOffers } from '../src/lib/renter/index.js';
import { cli } from './util/cli.js';
import { LiveDevnet } from './util/devnet.js';
import { waitFor } from './util/devnode.js';

const GIB = 2 ** 30;

test.serial('store hosts choose, add, list and remove on a devnet with three prices', async (t) => {
  t.timeout(170_000);
  const net = await LiveDevnet.up(t, 3);
  const renter = net.get('renter');
  const hosts = net.participants.filter((p) => p.role === 'host');
  // Base units per GiB-month; the default policy's maxPrice is 1,000,000.
  const prices = [600_000, 100_000, 2_000_000];
  const offers = await Promise.all(hosts.map(async (h, i) => (await createOffer(net.client(h), {
    price: prices[i], collateral: 2 * prices[i], minSize: 1 << 20, maxSize: 100 * GIB, minDuration: 10, maxDuration: 52_560, validity: 86_400, url: h.serverUrl!, host: { capacity: 100 * GIB },
  })).offer));
  for (const h of hosts) await peerWithRenter(h, renter);
  const rc = net.client(renter);
  await waitFor(async () => (await listOffers(rc, {})).length === 3, 60_000, 'the renter seeing the three offers');
  const [pricey, cheap, over] = offers;
  const hostsCmd = (args: string[]) => cli(['store', 'hosts', ...args, '--datadir', renter.datadir, '--json'], { timeoutMs: 120_000 });

  const first = await hostsCmd(['choose', '--hosts', '1']);
  t.is(first.code, 0, first.stderr);
  t.deepEqual(first.json.contracted.map((c: any) => c.hostKey), [cheap.hostKey], 'the cheapest host first');
  t.true(first.json.setAside.some((s: any) => s.hostKey === over.hostKey && /above maxPrice/.test(s.reason)));

  const added = await hostsCmd(['add', pricey.hash]);
  t.is(added.code, 0, added.stderr);
  t.is(added.json.hostKey, pricey.hostKey);
  const again = await hostsCmd(['add', pricey.hostKey]);
  t.is(again.code, 7, 'one contract a host');
  t.regex(again.stderr, /contracted already/);

  // Both contracts are funded but in no block yet: still counted, so only one more is wanted, and only the host over maxPrice is left.
  const short = await hostsCmd(['choose', '--hosts', '3', '--max-price', '0.015']);
  t.is(short.code, 6, short.stderr);
  t.is(short.json.wanted, 1);
  t.deepEqual(short.json.contracted, []);
  t.deepEqual(short.json.setAside.find((s: any) => s.hostKey === over.hostKey).reason, 'price 2000000 above maxPrice 1500000', 'the flag overrides the policy');

  await net.mine(renter, 1, net.participants);
  await waitFor(async () => (await listContracts(rc, 'renter')).contracts.filter((c) => c.state === 'active').length === 2, 60_000, 'two active contracts');
  const listed = await hostsCmd([]);
  t.is(listed.code, 0, listed.stderr);
  t.deepEqual(listed.json.hosts.map((h: any) => h.hostKey).sort(), [cheap.hostKey, pricey.hostKey].sort());
  for (const h of listed.json.hosts) {
    const i = offers.findIndex((o) => o.hostKey === h.hostKey);
    t.like(h, { url: hosts[i].serverUrl, price: prices[i], collateral: 2 * prices[i], state: 'active', removed: false, renewedFrom: null, renewedTo: null });
    t.true(typeof h.latencyMs === 'number' && h.latencyMs > 0, 'latency measured');
  }

  const removed = await hostsCmd(['remove', pricey.hostKey]);
  t.is(removed.code, 0, removed.stderr);
  t.deepEqual(removed.json.removed, [pricey.hostKey]);
  t.true((await hostsCmd([])).json.hosts.find((h: any) => h.hostKey === pricey.hostKey).removed, 'listed as removed, its contract still there');

  // With a policy in config.json the renter's daemon chooses on its own. The removed host does not count: two hosts
  // wanted means one more, and the one left is allowed by the policy's maxPrice.
  writeFileConfig(renter.datadir, { ...readFileConfig(renter.datadir), renter: { hosts: 2, maxPrice: 3_000_000 } });
  await waitFor(async () => {
    const l = await listContracts(rc, 'renter');
    return [...l.contracts, ...l.negotiating].some((c) => c.hostKey === over.hostKey);
  }, 120_000, 'the renter\'s daemon contracting a host in place of the removed one');
  const done = await hostsCmd(['choose']);
  t.is(done.code, 0, done.stderr);
  t.is(done.json.wanted, 0, 'the policy\'s hosts are contracted');
});
