import test from 'ava';
import { DEFAULT_RENTER_POLICY } from '../src/lib/config/renter-policy.js';
import type { OfferInfo } from '../src/lib/negotiator/index.js';
import { SCORE_WEIGHTS, THROUGHPUT_HALF_BPS, allowanceSpent, marketContracts, rankOffers, scoreOffer, unfitReason, type HostProbe } from '../src/lib/renter/host-choice.js';

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
    'http://127.0.0.1:1/': { latencyMs: 50, bytesPerSecond: 1e6 },
    'http://127.0.0.2:1/': { latencyMs: 50, bytesPerSecond: 50e6 },
    'http://127.0.0.3:1/': { latencyMs: 50, bytesPerSecond: null },
    'http://127.0.0.4:1/': null,
  };
  const { ranked, setAside } = await rankOffers([1, 2, 3, 4].map(host), [], policy, new Set(), async (url) => measured[url]);
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
