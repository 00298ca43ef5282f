import test from 'ava';
import { BanScore } from '../src/lib/net/errors.js';
import { GetOfferPacket } from '../src/lib/net/getoffer.js';
import { InvPacket } from '../src/lib/net/inv.js';
import { dispatch } from '../src/lib/negotiator/dispatch.js';
import { OfferPool } from '../src/lib/negotiator/offerpool.js';
import { ASK, RENTER_LIMITS, throwsProtocol, world } from './negotiator-fixtures.js';

const NOW = 1_800_000_000;

test('an offer spreads: inv → getoffer → offer → announced onward, once', async (t) => {
  const w = await world(NOW);
  const relay = new OfferPool();
  const inv = new InvPacket([w.offer.hash()]);
  const asked = await dispatch(relay, null, 'host', inv.cmd, inv.encode(), NOW);
  t.deepEqual(asked.reply.map((p) => p.cmd), ['ccgetoffer']);
  const getoffer = asked.reply[0] as GetOfferPacket;
  const answered = await dispatch(w.pool, null, 'relay', getoffer.cmd, getoffer.encode(), NOW);
  t.deepEqual(answered.reply.map((p) => p.encode()), [w.offer.encode()]);
  const added = await dispatch(relay, null, 'host', 'ccoffer', answered.reply[0].encode(), NOW);
  t.deepEqual(added.announce, [w.offer.hash()]);
  const again = await dispatch(relay, null, 'other', 'ccoffer', w.offer.encode(), NOW);
  t.deepEqual(again.announce, [], 'a duplicate is not relayed');
});

test('negotiation messages go to the Negotiator; a node without one ignores them at no cost', async (t) => {
  const w = await world(NOW);
  const { send } = w.r.propose(w.offer, ASK, RENTER_LIMITS, NOW);
  const out = await dispatch(w.pool, w.h, 'renter', send[0].cmd, send[0].encode(), NOW);
  t.deepEqual(out.reply.map((p) => p.cmd), ['ccaccept']);
  t.is(out.negotiation?.state, 'accepted');
  await throwsProtocol(t, () => dispatch(w.pool, null, 'renter', send[0].cmd, send[0].encode(), NOW), 'not-negotiating', BanScore.none);
  await throwsProtocol(t, () => dispatch(w.pool, w.h, 'renter', 'ccpropose', Buffer.alloc(3), NOW), 'malformed', BanScore.malformed);
});
