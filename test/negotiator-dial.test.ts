/**
 * When a renter dials the host of the offer it negotiates on
 * (docs/protocol.md §8.2), with NegotiatorServices on MemoryNodeAdapters: at
 * once when no connected peer is the host, never when one we dialled is, and
 * only after the fallback delay when a peer that dialled us may be it.
 */
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { canonicalHostPort } from '../src/lib/net/address.js';
import { MemoryNodeAdapter } from '../src/lib/negotiator/node/memory-adapter.js';
import type { OfferInfo } from '../src/lib/negotiator/node/offerbook.js';
import { party, walletOf } from './negotiator-fixtures.js';
import { waitFor } from './util/devnode.js';
import { startService, type Party } from './util/memory-service.js';

const GiB = 1024 ** 3;
const OFFER = { price: 100_000, collateral: 200_000, minSize: GiB, maxSize: 50 * GiB, minDuration: 144, maxDuration: 52_560, url: 'http://127.0.0.1:9000', validity: 3600 };
const ASK = { size: 10 * GiB, duration: 4320, timeout: 20_000 };
const AT_ONCE = 'no connected peer is the host';
const FALLBACK = 'no peer answered within 3000 ms';

/** An address no other node of this process has: MemoryNodeAdapter dials by it. */
function address(): string {
  const b = randomBytes(3);
  return `10.${b[0]}.${b[1]}.${b[2]}:48444`;
}

/** A host with an address, a renter, and the host's offer once the renter has it (`link` connects them, directly or not). */
async function market(t: ExecutionContext, link: (host: Party, renter: Party) => Promise<void>): Promise<{ host: Party; renter: Party; offer: OfferInfo; at: string }> {
  const at = address();
  const host = await startService(t, { funder: walletOf(party()), address: at });
  const renter = await startService(t, { funder: walletOf(party()) });
  await link(host, renter);
  const offer = await host.svc.createOffer({ ...OFFER, host: { capacity: 100 * GiB } });
  t.deepEqual(offer.addresses, [at]);
  await waitFor(async () => (await renter.svc.listOffers()).length === 1, 5_000, 'the offer at the renter');
  return { host, renter, offer, at };
}

function dialLines(p: Party): string[] {
  return p.node.logger.lines.filter((l) => l.includes('dialling'));
}

test('a renter whose only peer is a relay it dialled dials the host at once', async (t) => {
  const { renter, offer, at } = await market(t, async (host, renter) => {
    const relay = await startService(t, { address: address() });
    MemoryNodeAdapter.connect(host.node, relay.node);
    MemoryNodeAdapter.connect(renter.node, relay.node);
  });
  const r = await renter.svc.negotiate({ offer: offer.hash, ...ASK });
  t.is(r.outcome, 'funded');
  t.deepEqual(renter.node.dialled, [at]);
  const lines = dialLines(renter);
  t.is(lines.length, 1);
  t.true(lines[0].includes(AT_ONCE), lines[0]);
});

/** A renter connected to the host one way or the other: funded, and no dial. */
const noDial = test.macro(async (t, dialled: 'renter dialled the host' | 'host dialled the renter') => {
  const { renter, offer } = await market(t, async (host, renter) => {
    if (dialled === 'renter dialled the host') MemoryNodeAdapter.connect(renter.node, host.node);
    else MemoryNodeAdapter.connect(host.node, renter.node);
  });
  const r = await renter.svc.negotiate({ offer: offer.hash, ...ASK });
  t.is(r.outcome, 'funded');
  t.deepEqual(renter.node.dialled, []);
  t.deepEqual(dialLines(renter), []);
});

test('a renter that dialled the host\'s address already does not dial it again', noDial, 'renter dialled the host');
test('a peer that dialled the renter may be the host: it has the fallback delay to answer, and does', noDial, 'host dialled the renter');

test('when the only peer dialled the renter and is not the host, the host is dialled after the fallback delay', async (t) => {
  const { renter, offer, at } = await market(t, async (host, renter) => {
    const relay = await startService(t);
    MemoryNodeAdapter.connect(host.node, relay.node);
    MemoryNodeAdapter.connect(relay.node, renter.node);
  });
  const r = await renter.svc.negotiate({ offer: offer.hash, ...ASK });
  t.is(r.outcome, 'funded');
  t.deepEqual(renter.node.dialled, [at]);
  const lines = dialLines(renter);
  t.is(lines.length, 1);
  t.true(lines[0].includes(FALLBACK), lines[0]);
});

test('a peer\'s address and the offer\'s are compared in one spelling', (t) => {
  t.is(canonicalHostPort('[::FFFF:127.0.0.1]:48444'), '127.0.0.1:48444');
  t.is(canonicalHostPort('[2001:DB8:0:0::7]:1'), '[2001:db8::7]:1');
  t.is(canonicalHostPort('[0:0:0:0:0:0:0:1]:2'), canonicalHostPort('[::1]:2'));
  t.is(canonicalHostPort('Host.Example:9'), 'host.example:9');
  t.is(canonicalHostPort('127.0.0.1'), null, 'no port');
  t.is(canonicalHostPort('[1:2]:3'), null, 'not an IPv6 address');
});
