/**
 * Issue 3 acceptance on a real dev network: a renter and three hosts (node
 * processes on 127.0.0.1, the Negotiator loaded by default), driven through
 * the `contract` commands. The tests run in order on the same network: offers
 * spread, a contract is funded, counter / refusal / manual / capacity /
 * expiry paths, escrow that neither side can take alone and its settlement
 * paths, ratings, and a fourth node that syncs later and rebuilds the same
 * registry and reputations.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { paymentOf, collateralOf } from '../src/lib/net/terms.js';
import { Script } from '../src/lib/chain/primitives.js';
import { COLLATERAL_DELAY, cooperativeWitness, refundHeightOf, refundWitness, signEscrowInput, spendEscrow } from '../src/lib/negotiator/escrow.js';
import { RatingRecord } from '../src/lib/negotiator/records.js';
import { NodeClient } from '../src/lib/node/node-client.js';
import { waitFor, type DevNode } from './util/devnode.js';
import { Network, broadcast, lastRefusal, identity, inMempool, keyHex, mine, ok, putRecord, recordOf, synced, txAt } from './contract-util.js';

const net = new Network();
let R: DevNode; // renter
let H: DevNode[]; // three hosts
const offerOf = new Map<DevNode, string>();
const contracts: { id: string; host: DevNode; height: number; txid: string }[] = [];

/** A P2WPKH output script to a throwaway key: standard, so only the escrow rules can make a spend fail. */
function somewhere(): ReturnType<typeof Script.fromProgram> {
  return Script.fromProgram(0, randomBytes(20));
}

async function offer(host: DevNode, extra: string[] = []): Promise<string> {
  const r = await ok(host, ['contract', 'offer', '--price', '0.001', '--collateral', '0.002', '--min-size', '1GiB', '--max-size', '100GiB',
    '--min-duration', '10', '--max-duration', '30d', '--url', `http://127.0.0.1:${host.httpPort + 1000}`, ...extra]);
  offerOf.set(host, r.offer.hash);
  return r.offer.hash;
}

async function offersSeenBy(node: DevNode): Promise<string[]> {
  return (await ok(node, ['contract', 'offers'])).offers.map((o: any) => o.hash);
}

/** The host's pending proposes, or null while there are none (for waitFor). */
function pendingAt(host: DevNode): () => Promise<any[] | null> {
  return async () => {
    const { pending } = await ok(host, ['contract', 'pending']);
    return pending.length > 0 ? pending : null;
  };
}

async function accept(host: DevNode, extra: string[] = []) {
  return R.run(['contract', 'accept', offerOf.get(host)!, '--size', '10GiB', '--duration', '40', '--timeout', '20', ...extra]);
}

/** Accepts `host`'s offer, mines the funding, and remembers the contract. */
async function fund(host: DevNode, extra: string[] = []): Promise<string> {
  const r = await accept(host, extra);
  if (r.code !== 0) throw new Error(`accept exited ${r.code}: ${r.stderr}`);
  const height = await mine(R, 1, net.nodes);
  const id = r.json.negotiation.contractId;
  contracts.push({ id, host, height, txid: r.json.txid });
  return id;
}

test.before(async () => {
  R = await net.node();
  H = await Promise.all([0, 1, 2].map(() => net.node({ peers: [R] })));
  // Each host gets a coinbase to fund collateral from; 110 more blocks mature them and pass segwit's activation.
  for (const h of H) await ok(R, ['node', 'mine', '1', '--address', (await ok(h, ['wallet', 'address'])).address]);
  await mine(R, 110, net.nodes);
  // These tests take the settlement paths and rate by hand: the daemons must not get there first.
  for (const n of net.nodes) await n.http('POST', '/ext/negotiator/fulfilment', { automatic: false });
});

test.after.always(async () => {
  await net.stop();
});

test.serial('three hosts offer; the renter lists all three within seconds', async (t) => {
  const hashes = await Promise.all(H.map((h) => offer(h)));
  // "Within seconds": the bound is generous because each look spawns the CLI, which on a loaded
  // 2-core CI machine alone takes seconds (the relay itself is measured in npm run bench).
  await waitFor(async () => (await offersSeenBy(R)).length === 3, 20_000, 'three offers at the renter');
  t.deepEqual([...(await offersSeenBy(R))].sort(), [...hashes].sort());
  const listed = (await ok(R, ['contract', 'offers', '--sort', 'reputation'])).offers;
  t.true(listed.every((o: any) => o.reputation.score === 3 && o.reputation.count === 0), 'no ratings yet: the neutral prior');
  t.is((await ok(R, ['contract', 'offers', '--max-price', '0.0009'])).offers.length, 0, '--max-price filters');
});

test.serial('the renter accepts one offer: signed, funded on chain, listed on both sides', async (t) => {
  const id = await fund(H[0]);
  const mine = await ok(R, ['contract', 'list']);
  t.is(mine.contracts.length, 1);
  t.is(mine.contracts[0].id, id);
  t.is(mine.contracts[0].role, 'renter');
  t.true(['funded', 'active'].includes(mine.contracts[0].state));
  const theirs = await ok(H[0], ['contract', 'list', '--role', 'host']);
  t.deepEqual(theirs.contracts.map((c: any) => c.id), [id]);
  // The file server reads this route's JSON as is.
  const info = await H[1].http('GET', `/ext/negotiator/contracts/${id}`);
  t.is(info.status, 200);
  t.is(info.body.hostKey, keyHex(H[0]));
  t.is(info.body.renterKey, keyHex(R));
  t.is(info.body.size, 10 * 1024 ** 3);
});

test.serial('counter-offer: refused beyond the renter\'s --max-price, funded within it', async (t) => {
  // Host 2's floor is above its offer: it counters every propose at the floor.
  await offer(H[1], ['--price-floor', '0.0015']);
  await waitFor(async () => (await offersSeenBy(R)).includes(offerOf.get(H[1])!), 10_000, 'new offer');
  const refused = await accept(H[1]);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /the renter refused: price \(the host countered at price 150000/);
  const id = await fund(H[1], ['--max-price', '0.002']);
  const c = await ok(R, ['contract', 'show', id]);
  t.is(c.price, 150_000, 'the countered price is the contract price');
});

test.serial('manual host: pending, refuse and approve', async (t) => {
  await offer(H[2], ['--manual']);
  await waitFor(async () => (await offersSeenBy(R)).includes(offerOf.get(H[2])!), 10_000, 'new offer');
  const first = accept(H[2]);
  const pending = (await waitFor(pendingAt(H[2]), 10_000, 'a pending propose'))!;
  t.is(pending.length, 1);
  t.is(pending[0].advice, 'accept');
  await ok(H[2], ['contract', 'refuse', pending[0].nid, '--reason', 'price']);
  const r1 = await first;
  t.is(r1.code, 1);
  t.regex(r1.stderr, /the host refused: price/);
  t.is((await H[2].run(['contract', 'approve', pending[0].nid])).code, 1, 'no longer pending');

  const second = accept(H[2]);
  const [p] = (await waitFor(pendingAt(H[2]), 10_000, 'a pending propose'))!;
  await ok(H[2], ['contract', 'approve', p.nid]);
  const r2 = await second;
  t.is(r2.code, 0, r2.stderr);
  contracts.push({ id: r2.json.negotiation.contractId, host: H[2], height: await mine(R, 1, net.nodes), txid: r2.json.txid });
  t.is((await ok(H[2], ['contract', 'show', r2.json.negotiation.contractId])).hostKey, keyHex(H[2]));
});

test.serial('a host at capacity refuses; so does a host at its maximum of contracts', async (t) => {
  await offer(H[0], ['--capacity', '10GiB']); // its 10 GiB contract fills it
  await waitFor(async () => (await offersSeenBy(R)).includes(offerOf.get(H[0])!), 10_000, 'new offer');
  const r = await accept(H[0]);
  t.is(r.code, 1);
  t.regex(r.stderr, /the host refused: capacity/);
  await offer(H[0], ['--capacity', '100GiB', '--max-contracts', '1']);
  await waitFor(async () => (await offersSeenBy(R)).includes(offerOf.get(H[0])!), 10_000, 'new offer');
  const r2 = await accept(H[0]);
  t.is(r2.code, 1);
  t.regex(r2.stderr, /the host refused: contracts/);
  t.is((await ok(R, ['contract', 'list'])).contracts.length, 3, 'nothing was funded');
});

test.serial('an expired offer disappears and cannot be accepted; a withdrawn one too', async (t) => {
  const hash = await offer(H[0], ['--validity', '10', '--max-contracts', '10']);
  await waitFor(async () => (await offersSeenBy(R)).includes(hash), 10_000, 'short-lived offer');
  await waitFor(async () => !(await offersSeenBy(R)).includes(hash), 20_000, 'the offer to expire at the renter');
  const r = await R.run(['contract', 'accept', hash, '--size', '10GiB', '--duration', '40']);
  t.is(r.code, 1);
  t.regex(r.stderr, /no live offer/);

  await offer(H[0], ['--max-contracts', '10']);
  await waitFor(async () => (await offersSeenBy(R)).includes(offerOf.get(H[0])!), 10_000, 'fresh offer');
  // Too small a contract for an escrow output: refused at once, with what to change, before any message goes out.
  const tiny = await R.run(['contract', 'accept', offerOf.get(H[0])!, '--size', '1KiB', '--duration', '1']);
  t.is(tiny.code, 2);
  t.regex(tiny.stderr, /too small: 1024 bytes for 1 blocks .* escrow of \d+ base units, .* at least 1000: ask for more size or duration/);
  t.is(tiny.stderr.trim().split('\n').length, 1);
  await ok(H[0], ['contract', 'offer', '--withdraw']);
  await waitFor(async () => !(await offersSeenBy(R)).includes(offerOf.get(H[0])!), 10_000, 'withdrawal to spread');
  t.pass();
});

test.serial('escrow: neither side can take the other\'s coins alone; refunds wait for the refund height', async (t) => {
  const c = contracts[0];
  const tx = await txAt(R, c.height, c.txid);
  const { terms } = recordOf(tx);
  const renter = identity(R);
  const host = identity(c.host);
  const early = await R.run(['contract', 'settle', c.id]);
  t.is(early.code, 7, 'before the refund height');
  t.regex(early.stderr, /refund path opens at height/);

  const refundHeight = refundHeightOf(terms);
  await mine(R, refundHeight - (await R.http('GET', '/cloudcoin/sync')).body.chain, net.nodes);
  const pay = paymentOf(terms);
  const col = collateralOf(terms);
  const attempts: [string, 'payment' | 'collateral', Uint8Array, boolean][] = [
    ['host alone, refund branch, on the payment', 'payment', host.secretKey, false],
    ['host alone, 2-of-2 branch, on the payment', 'payment', host.secretKey, true],
    ['renter alone, refund branch, on the collateral', 'collateral', renter.secretKey, false],
    ['renter alone, 2-of-2 branch, on the collateral', 'collateral', renter.secretKey, true],
  ];
  for (const [what, kind, key, multisig] of attempts) {
    const value = (kind === 'payment' ? pay : col) - 2000;
    const mtx = spendEscrow(tx, terms, [kind], [{ script: somewhere(), value }], multisig ? 0 : refundHeight);
    const sig = signEscrowInput(mtx, 0, terms, kind, key);
    if (multisig) cooperativeWitness(mtx, 0, terms, kind, sig, sig);
    else refundWitness(mtx, 0, terms, kind, sig);
    t.false(await broadcast(R, mtx.toTX()), `${what}: must not be accepted`);
  }
  await mine(R, 1, net.nodes);
  const still = await ok(R, ['contract', 'show', c.id]);
  t.is(still.paymentSpent, null);
  t.is(still.collateralSpent, null);

  // The documented unilateral paths: each party takes back its own contribution, the host COLLATERAL_DELAY later.
  const back = await ok(R, ['contract', 'settle', c.id]);
  t.is(back.kind, 'payment');
  const hostEarly = await c.host.run(['contract', 'settle', c.id]);
  t.is(hostEarly.code, 7, 'the host\'s collateral path opens COLLATERAL_DELAY after the refund height');
  t.regex(hostEarly.stderr, new RegExp(`refund path opens at height ${refundHeight + COLLATERAL_DELAY} for the host's collateral`));
  await inMempool(R, [back.txid]);
  await mine(R, COLLATERAL_DELAY, net.nodes);
  const col2 = await ok(c.host, ['contract', 'settle', c.id]);
  t.is(col2.kind, 'collateral');
  await inMempool(R, [col2.txid]);
  await mine(R, 1, net.nodes);
  const settled = await ok(H[1], ['contract', 'show', c.id]);
  t.is(settled.state, 'settled');
  t.is(settled.paymentSpent.txid, back.txid);
  t.is(settled.collateralSpent.txid, col2.txid);
  t.is((await R.run(['contract', 'settle', c.id])).code, 7, 'already spent');
});

test.serial('escrow: the cooperative close, signed by both, pays the host', async (t) => {
  const c = contracts[1];
  const tx = await txAt(R, c.height, c.txid);
  const { terms } = recordOf(tx);
  const total = paymentOf(terms) + collateralOf(terms);
  const mtx = spendEscrow(tx, terms, ['payment', 'collateral'], [{ script: somewhere(), value: total - 2000 }]);
  (['payment', 'collateral'] as const).forEach((kind, i) => {
    cooperativeWitness(mtx, i, terms, kind, signEscrowInput(mtx, i, terms, kind, identity(R).secretKey), signEscrowInput(mtx, i, terms, kind, identity(c.host).secretKey));
  });
  t.true(await broadcast(R, mtx.toTX()), `the cooperative close was refused: ${lastRefusal}`);
  await mine(R, 1, net.nodes);
  for (const n of net.nodes) t.is((await ok(n, ['contract', 'show', c.id])).state, 'settled');
});

test.serial('ratings: parties once each; a second rating and a non-party\'s are ignored; reputations agree', async (t) => {
  const [c1, c2] = contracts;
  t.is((await ok(R, ['contract', 'rate', c1.id, '5', '--comment', 'all there'])).score, 5);
  const hostRating = await ok(c1.host, ['contract', 'rate', c1.id, '4']);
  t.is(hostRating.score, 4);
  await inMempool(R, [hostRating.txid]);
  t.is((await ok(R, ['contract', 'rate', c2.id, '2'])).score, 2);
  await mine(R, 1, net.nodes);
  const again = await R.run(['contract', 'rate', c1.id, '1']);
  t.is(again.code, 7, 'the node refuses a second rating');
  const outsider = await H[2].run(['contract', 'rate', c1.id, '1']);
  t.is(outsider.code, 1, 'the node refuses to rate a contract it is not a party of');
  // Put both on chain anyway, as anyone can with a wallet: the indexer must ignore them.
  const contractId = Buffer.from(c1.id, 'hex');
  const second = await putRecord(R, new RatingRecord({ contractId, raterKey: identity(R).publicKey, score: 1, comment: 'second' }).sign(identity(R).secretKey).encode());
  const outsiderTx = await putRecord(H[2], new RatingRecord({ contractId, raterKey: identity(H[2]).publicKey, score: 1, comment: 'outsider' }).sign(identity(H[2]).secretKey).encode());
  await inMempool(R, [second, outsiderTx]);
  await mine(R, 1, net.nodes);
  const shown = await ok(H[1], ['contract', 'show', c1.id]);
  t.deepEqual(shown.ratings.map((r: any) => [r.raterKey, r.score]).sort(), [[keyHex(R), 5], [keyHex(c1.host), 4]].sort());

  const keys = [keyHex(R), ...H.map(keyHex)];
  const reps = await Promise.all(net.nodes.map(async (n) => Promise.all(keys.map(async (k) => (await n.http('GET', `/ext/negotiator/reputation/${k}`)).body))));
  for (const r of reps.slice(1)) t.deepEqual(r, reps[0], 'every node computes the same reputations');
  const host0 = reps[0][1];
  t.is(host0.count, 1);
  t.true(host0.score > 3);
  const host1 = reps[0][2];
  t.is(host1.count, 1);
  t.true(host1.score < 3);
});

test.serial('a fourth node that joins later rebuilds the identical registry and reputations', async (t) => {
  const tip = (await R.http('GET', '/cloudcoin/sync')).body.chain;
  const D = await net.node({ peers: [R] });
  await synced([D], tip);
  const dumps = await Promise.all([R, ...H, D].map(async (n) => (await n.http('GET', '/ext/negotiator/registry')).body));
  t.is(dumps[0].contracts.length, 3);
  t.is(dumps[0].ratings.length, 3);
  for (const d of dumps.slice(1)) t.deepEqual(d, dumps[0]);
  for (const k of [keyHex(R), ...H.map(keyHex)]) {
    const [d, r] = await Promise.all([D, R].map(async (n) => (await n.http('GET', `/ext/negotiator/reputation/${k}`)).body));
    t.deepEqual(d, r);
  }
  t.deepEqual((await ok(D, ['contract', 'reputation', keyHex(H[0])])).score, (await ok(R, ['contract', 'reputation', keyHex(H[0])])).score);
  t.deepEqual((await ok(D, ['contract', 'show', contracts[0].id])).state, 'settled');
});

test.serial('a propose sent before the host\'s node connected reaches it once it does', async (t) => {
  // X hears the chain and relays its offer through host 0 only, and does not listen: the renter
  // cannot dial it, and a negotiation is not relayed, so only X's own connection can carry the propose.
  const X = await net.node({ peers: [H[0]], extra: ['--no-listen'] });
  await ok(R, ['node', 'mine', '1', '--address', (await ok(X, ['wallet', 'address'])).address]);
  await mine(R, 100, net.nodes);
  const hash = await offer(X);
  await waitFor(async () => (await offersSeenBy(R)).includes(hash), 20_000, 'X\'s offer at the renter');
  const xrpc = NodeClient.connect(X.datadir);
  const peersOfX = async () => ((await xrpc.rpc('getpeerinfo', [])) as { addr: string }[]).map((p) => p.addr);
  t.false((await peersOfX()).includes(`127.0.0.1:${R.port}`), 'X is not connected to the renter yet');
  const accepting = R.run(['contract', 'accept', hash, '--size', '10GiB', '--duration', '40', '--timeout', '60']);
  await waitFor(async () => {
    const { negotiating } = (await R.http('GET', '/ext/negotiator/contracts?role=renter')).body;
    return negotiating.some((n: any) => n.hostKey === keyHex(X) && n.state === 'proposed');
  }, 20_000, 'the propose sent');
  await xrpc.rpc('addnode', [`127.0.0.1:${R.port}`, 'onetry']);
  const r = await accepting;
  t.is(r.code, 0, r.stderr);
  t.is(r.json.outcome, 'funded');
  await mine(R, 1, net.nodes);
  t.deepEqual((await ok(X, ['contract', 'list', '--role', 'host'])).contracts.map((c: any) => c.id), [r.json.negotiation.contractId]);
});
