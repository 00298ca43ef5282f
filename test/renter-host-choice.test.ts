import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DEFAULT_RENTER_POLICY } from '../src/lib/config/renter-policy.js';
import type { OfferInfo } from '../src/lib/negotiator/index.js';
import { SCORE_WEIGHTS, THROUGHPUT_HALF_BPS, allowanceSpent, marketContracts, rankOffers, scoreOffer, scoredThroughput, unfitReason, type HostProbe } from '../src/lib/renter/host-choice.js';
import { REMEMBERED_HOSTS, REMEMBERED_MS, rememberThroughput, rememberedThroughput } from '../src/lib/renter/host-probes.js';
import { PROBE_MAX_BYTES } from '../src/lib/server/probe-route.js';
import { tempDir } from './util/devnode.js';
import { inProcessServer } from './util/serve.js';

const GIB = 2 ** 30;
const policy = { ...DEFAULT_RENTER_POLICY };

function offer(over: Partial<OfferInfo> = {}, ratio: number | null = null, score = 3): OfferInfo {
  return {
    hash: 'aa'.repeat(32), hostKey: `02${'bb'.repeat(32)}`, sequence: 1, expiry: 0, mine: false, addresses: [], standing: 0,
    price: 100_000, collateral: 200_000, minSize: 1 << 20, maxSize: 100 * GIB, minDuration: 10, maxDuration: 52_560, url: 'http://127.0.0.1:1/',
    reputation: { score, count: 0, weight: 0, fulfilment: { windows: 0, proven: 0, ratio } },
    ...over,
  };
}

test('the score weighs price, collateral up to twice the price, reputation, proof record, latency and throughput, and stays within 0..1', (t) => {
  t.is(Object.values(SCORE_WEIGHTS).reduce((a, b) => a + b, 0).toFixed(10), (1).toFixed(10));
  const base = scoreOffer(offer(), policy, 0, null);
  t.true(scoreOffer(offer({ price: 50_000, collateral: 100_000 }), policy, 0, null) > base, 'cheaper at the same collateral ratio');
  t.is(scoreOffer(offer({ collateral: 1_000_000 }), policy, 0, null), base, 'collateral beyond twice the price earns nothing more');
  t.true(scoreOffer(offer({ collateral: 100_000 }), policy, 0, null) < base);
  t.true(scoreOffer(offer({}, 1), policy, 0, null) > base && scoreOffer(offer({}, 0), policy, 0, null) < base, 'no record scores as half the windows proven');
  t.true(scoreOffer(offer({}, null, 5), policy, 0, null) > base);
  t.true(scoreOffer(offer(), policy, 200, null) < base);
  const best = scoreOffer(offer({ price: 0, collateral: 0 }, 1, 5), policy, 0, 1e15);
  const worst = scoreOffer(offer({ price: policy.maxPrice, collateral: 0 }, 0, 1), policy, 1e9, 0);
  t.true(best <= 1 && worst >= 0);
});

test('a faster host with equal terms ranks above a slower one, and an unmeasured throughput scores as the halving figure', async (t) => {
  const slow = scoreOffer(offer(), policy, 50, 1e6);
  const fast = scoreOffer(offer(), policy, 50, 50e6);
  t.true(fast > slow);
  t.is(scoreOffer(offer(), policy, 50, null), scoreOffer(offer(), policy, 50, THROUGHPUT_HALF_BPS), 'null is neutral: half the throughput term');
  t.true(scoreOffer(offer(), policy, 50, null) > slow && scoreOffer(offer(), policy, 50, null) < fast);
  const host = (n: number) => offer({ hash: `${n}`.repeat(64), hostKey: `02${`${n}`.repeat(64)}`, url: `http://127.0.0.${n}:1/` });
  const measured: Record<string, HostProbe | null> = {
    'http://127.0.0.1:1/': { latencyMs: 50, bytesPerSecond: 1e6, outcome: 'measured' },
    'http://127.0.0.2:1/': { latencyMs: 50, bytesPerSecond: 50e6, outcome: 'measured' },
    'http://127.0.0.3:1/': { latencyMs: 50, bytesPerSecond: null, outcome: 'refused' },
    'http://127.0.0.4:1/': null,
  };
  const { ranked, setAside } = await rankOffers([1, 2, 3, 4].map(host), [], policy, { probe: async (url) => measured[url] });
  t.deepEqual(ranked.map((r) => r.offer.url), ['http://127.0.0.2:1/', 'http://127.0.0.3:1/', 'http://127.0.0.1:1/']);
  t.deepEqual(ranked.map((r) => r.throughputBps), [50e6, null, 1e6]);
  t.deepEqual(setAside.map((s) => s.reason), ['file server does not answer']);
});

test('an offer outside the policy is set aside with the reason', (t) => {
  const left = policy.allowance;
  t.is(unfitReason(offer(), policy, left), null);
  t.is(unfitReason(offer({ url: '' }), policy, left), 'no file server URL');
  t.is(unfitReason(offer({ price: 2_000_000 }), policy, left), 'price 2000000 above maxPrice 1000000');
  t.is(unfitReason(offer({ collateral: 10 }), { ...policy, minCollateral: 100 }, left), 'collateral 10 below minCollateral 100');
  t.is(unfitReason(offer({}, null, 2), { ...policy, minReputation: 2.5 }, left), 'reputation 2.00 below minReputation 2.5');
  t.regex(unfitReason(offer({ maxSize: GIB / 2 }), policy, left)!, /^contractSize 1073741824 outside/);
  t.regex(unfitReason(offer({ maxDuration: 100 }), policy, left)!, /^duration 4320 outside 10\.\.100$/);
  t.is(unfitReason(offer(), policy, 99_999), 'payment 100000 above the allowance left (99999)');
});

test('the allowance spent counts funded and active contracts, funded negotiations no block holds yet included', (t) => {
  const c = (state: any, payment: number, id = 'c') => ({ id, state, hostKey: 'h', payment, size: GIB, endHeight: 100 });
  t.is(allowanceSpent([c('active', 5), c('funded', 7), c('expired', 100), c('settled', 1000)]), 12);
  const n = (state: string, role = 'renter') => ({ nid: 'n', role, state, contractId: 'x', renterKey: 'r', hostKey: 'h2', size: GIB, startHeight: 10, duration: 4320, price: 100_000, collateral: 0, deadline: 0, refusal: null }) as any;
  const all = marketContracts({ contracts: [c('active', 5)], negotiating: [n('funded'), n('signed'), n('funded', 'host')] });
  t.deepEqual(all.map((x) => [x.state, x.hostKey]), [['active', 'h'], ['funded', 'h2']]);
  t.is(all[1].payment, 100_000, 'one GiB-month at the price');
  t.is(all[1].endHeight, 4330);
});

test('a probe refused for now scores the figure remembered, else neutral; a failed one scores as the slowest', (t) => {
  const refused: HostProbe = { latencyMs: 50, bytesPerSecond: null, outcome: 'refused' };
  t.deepEqual(scoredThroughput({ latencyMs: 50, bytesPerSecond: 3e6, outcome: 'measured' }, 9e6), { bytesPerSecond: 3e6, source: 'measured' }, 'a figure now wins over one remembered');
  t.deepEqual(scoredThroughput(refused, 9e6), { bytesPerSecond: 9e6, source: 'remembered' });
  t.deepEqual(scoredThroughput(refused, undefined), { bytesPerSecond: null, source: 'refused' });
  t.deepEqual(scoredThroughput({ latencyMs: 50, bytesPerSecond: null, outcome: 'failed' }, 9e6), { bytesPerSecond: 0, source: 'failed' }, 'a host that fails the probe gains nothing from an old figure');
  const lost = scoreOffer(offer(), policy, 50, null) - scoreOffer(offer(), policy, 50, 0);
  t.true(Math.abs(lost - SCORE_WEIGHTS.throughput / 2) < 1e-12, 'the slowest loses the half of the weight a neutral host keeps');
});

test('figures are remembered by host key in the datadir: the newest 1,000, none older than 7 days', async (t) => {
  const datadir = tempDir(t, 'cc-probes-');
  const now = 1_000 * REMEMBERED_MS;
  t.deepEqual(await rememberedThroughput(datadir, now), new Map(), 'no file: nothing remembered');
  await rememberThroughput(datadir, new Map([['old', 1e6]]), now - REMEMBERED_MS - 1);
  await rememberThroughput(datadir, new Map([['week', 2e6]]), now - REMEMBERED_MS);
  await rememberThroughput(datadir, new Map([['a', 3e6], ['b', 4e6]]), now);
  t.deepEqual([...(await rememberedThroughput(datadir, now))].sort(), [['a', 3e6], ['b', 4e6], ['week', 2e6]]);
  await rememberThroughput(datadir, new Map([['a', 5e6]]), now + 1);
  t.is((await rememberedThroughput(datadir, now + 1)).get('a'), 5e6, 'a new measurement replaces the old');
  await rememberThroughput(datadir, new Map(Array.from({ length: REMEMBERED_HOSTS }, (_, i) => [`h${i}`, 1e6 + i])), now + 2);
  const kept = await rememberedThroughput(datadir, now + 2);
  t.is(kept.size, REMEMBERED_HOSTS);
  t.false(kept.has('a') || kept.has('b') || kept.has('week'), 'the hosts measured longest ago give way');
  const file = JSON.parse(readFileSync(join(datadir, 'store', 'host-probes.json'), 'utf8'));
  t.is(Object.keys(file.hosts).length, REMEMBERED_HOSTS, 'the file stays bounded');
});

/**
 * A foreign server that answers /status and `probe` for GET /v1/probe: an
 * older file server, or a host lying about the probe.
 */
async function foreignServer(t: ExecutionContext, probe: (res: ServerResponse) => void): Promise<string> {
  const server = createServer((req, res) => {
    if (req.url === '/status') res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    else if (req.url?.startsWith('/v1/probe')) probe(res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** An offer of host `n` with equal terms, at `url`. */
const hostAt = (n: number, url: string) => offer({ hash: `${n}`.repeat(64), hostKey: `02${`${n}`.repeat(64)}`, url });

test('a host that answers /status but fails the probe (404, a short body) ranks below an equal honest one, even one slower than the halving figure', async (t) => {
  const honest = (await inProcessServer(t)).server.url;
  // 1 MiB in 64 KiB pieces 20 ms apart: about 3 MB/s, under the 10 MB/s that scores half.
  const slow = await foreignServer(t, (res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': PROBE_MAX_BYTES });
    let sent = 0;
    const timer = setInterval(() => {
      res.write(Buffer.alloc(64 * 1024));
      sent += 64 * 1024;
      if (sent < PROBE_MAX_BYTES) return;
      clearInterval(timer);
      res.end();
    }, 20);
    res.on('close', () => clearInterval(timer));
  });
  const older = await foreignServer(t, (res) => res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"not-found","message":"no route"}}'));
  const short = await foreignServer(t, (res) => res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.alloc(1000)));
  const datadir = tempDir(t, 'cc-probes-');
  const { ranked, setAside } = await rankOffers([hostAt(1, honest), hostAt(2, slow), hostAt(3, older), hostAt(4, short)], [], policy, { datadir });
  t.deepEqual(setAside, []);
  const of = (url: string) => ranked.find((r) => r.offer.url === url)!;
  t.is(of(honest).throughputSource, 'measured');
  t.is(of(slow).throughputSource, 'measured');
  t.true(of(slow).throughputBps! < THROUGHPUT_HALF_BPS, `the slow host measured ${of(slow).throughputBps} B/s`);
  for (const failed of [older, short]) {
    t.is(of(failed).throughputSource, 'failed');
    t.is(of(failed).throughputBps, null, 'nothing measured');
    t.is(of(failed).score, scoreOffer(of(failed).offer, policy, of(failed).latencyMs, 0), 'scored as the slowest');
  }
  t.deepEqual(ranked.slice(2).map((r) => r.throughputSource), ['failed', 'failed'], 'both that measured rank above both that failed');
  t.deepEqual([...(await rememberedThroughput(datadir)).keys()].sort(), [hostAt(1, honest).hostKey, hostAt(2, slow).hostKey], 'only measured figures are remembered');
});

test('a host refusing the probe (429) after a measured one keeps its remembered figure; a renter that never measured it scores it neutral', async (t) => {
  const { server } = await inProcessServer(t, { probeLimit: { burst: 1, perSecond: 0.001 } });
  const datadir = tempDir(t, 'cc-probes-');
  const host = hostAt(1, server.url);
  const [first] = (await rankOffers([host], [], policy, { datadir })).ranked;
  t.is(first.throughputSource, 'measured');
  t.true(first.throughputBps! > 0);
  const [second] = (await rankOffers([host], [], policy, { datadir })).ranked;
  t.is(second.throughputSource, 'remembered', 'the server refused this address its second probe in a minute');
  t.is(second.throughputBps, null, 'nothing measured now');
  t.is(second.score, scoreOffer(host, policy, second.latencyMs, first.throughputBps), 'scored on the figure of the first probe');
  t.is((await rememberedThroughput(datadir)).get(host.hostKey), first.throughputBps!, 'a refusal leaves the figure as it was');
  const [stranger] = (await rankOffers([host], [], policy, { datadir: tempDir(t, 'cc-probes-') })).ranked;
  t.is(stranger.throughputSource, 'refused');
  t.is(stranger.score, scoreOffer(host, policy, stranger.latencyMs, null), 'neutral: half the throughput weight');
});
