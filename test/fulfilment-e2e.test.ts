/**
 * Issue 23 acceptance on a live devnet: a renter and its hosts, every node its
 * own process, each host with its file server, contracts short enough (24
 * blocks: 6 proof windows of 4 dev blocks) to mine through in a test. After
 * the push nobody runs a command but the miner: the daemons challenge, prove,
 * pay, settle and rate on their own, and the test only watches and mines.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { contractDevnetHosts, type DevnetTerms } from '../src/lib/devnet/contracts.js';
import type { Participant } from '../src/lib/devnet/participant.js';
import { showContract } from '../src/lib/renter/index.js';
import { waitFor } from './util/devnode.js';
import { LiveDevnet } from './util/devnet.js';

/** proofWindowOf('dev'). */
const WINDOW = 4;
const DURATION = 24;
const WINDOWS = DURATION / WINDOW;
const GIB = 2 ** 30;
const MONTH_BLOCKS = 4320;
/** 1 GiB for 24 blocks: 6 CC of payment (1 CC a window) and 12 CC of collateral in escrow. */
const PAYMENT = 600_000_000;
const COLLATERAL = 1_200_000_000;
const TERMS: DevnetTerms = {
  offer: { price: (PAYMENT * MONTH_BLOCKS) / DURATION, collateral: (COLLATERAL * MONTH_BLOCKS) / DURATION, minSize: 2 ** 20, maxSize: GIB, minDuration: DURATION, maxDuration: DURATION, validity: 86_400 },
  take: { size: GIB, duration: DURATION },
};
/** What each settlement transaction (PAY, SPLIT) leaves as its fee. */
const FEE = 2000;
/** The most one rating transaction costs the wallet that publishes it. */
const RATING_FEE_MAX = 100_000;

/** The part of `total` that p proven windows earn. */
function share(total: number, p: number): number {
  return Math.floor((total * p) / WINDOWS);
}

/** What a node's daemon reports of one contract's fulfilment (`contract show --json`, its `fulfilment`). */
interface Progress {
  /** Windows decided: the renter's own record; on a host, its latest payment revision. */
  proven: number;
  missed: number;
  /** Sectors in the latest commitment revision both signed. */
  committed: number;
  /** Proven windows in the latest payment revision the host acknowledged (on the host: the latest it holds). */
  acknowledged: number;
}

function progressOf(c: any, onHost: boolean): Progress {
  const f = c.fulfilment;
  return {
    proven: f?.proven ?? 0,
    missed: f?.missed ?? 0,
    committed: f?.commitment?.sectors ?? 0,
    acknowledged: f?.payment && (onHost || f.payment.acknowledged) ? f.payment.proven : 0,
  };
}

async function progress(net: LiveDevnet, p: Participant, contractId: string): Promise<Progress> {
  return progressOf(await showContract(net.client(p), contractId), p.role === 'host');
}

async function contractOn(net: LiveDevnet, p: Participant, contractId: string): Promise<any> {
  return showContract(net.client(p), contractId);
}

async function balance(net: LiveDevnet, p: Participant): Promise<number> {
  return (await net.run(p, ['wallet', 'balance'])).confirmed;
}

/**
 * Windows of a contract funded in the block at its start height `start`
 * that the renter's daemon has opened, and that have closed, at `tip`. The
 * daemon leaves a contract alone in the block that funds it (the host's node
 * may not have indexed it yet), so the first window opens for it a block late.
 */
function windowsAt(start: number, tip: number): { opened: number; closed: number } {
  const clamp = (n: number) => Math.max(0, Math.min(WINDOWS, n));
  return { opened: tip <= start ? 0 : clamp(Math.floor((tip - start) / WINDOW) + 1), closed: clamp(Math.floor((tip - start) / WINDOW)) };
}

/**
 * Waits until the renter's daemon has decided the windows a host that proves
 * its first `proves` windows has at `tip`: every opened one of those proven
 * at once, every closed one after them missed (a window the renter first
 * tried a block late is decided a block late, so one may still be pending).
 */
async function decided(net: LiveDevnet, renter: Participant, contractId: string, start: number, tip: number, proves: number): Promise<Progress> {
  const { opened, closed } = windowsAt(start, tip);
  const proven = Math.min(opened, proves);
  const missed = Math.max(0, closed - proves);
  const seen = await waitFor(async () => {
    const p = await progress(net, renter, contractId);
    return p.proven === proven && p.missed <= missed && p.missed >= missed - 1 ? p : null;
  }, 60_000, `contract ${contractId.slice(0, 8)} at height ${tip}: ${proven} proven, ${missed} missed`);
  return seen!;
}

function contractDir(host: Participant, contractId: string): string {
  return join(host.datadir, 'sectors', 'sectors', contractId);
}

/** The sectors a host's file server keeps for one contract (beside each may be its cached root, `<id>.root`). */
async function sectorFiles(host: Participant, contractId: string): Promise<string[]> {
  const root = contractDir(host, contractId);
  const fans = await readdir(root).catch(() => [] as string[]);
  const names = await Promise.all(fans.map(async (f) => (await readdir(join(root, f))).filter((n) => /^[0-9a-f]{64}$/.test(n)).map((n) => join(root, f, n))));
  return names.flat();
}

/** `cloudcoin store push` of a few MB to the renter's contracted hosts. */
async function pushData(net: LiveDevnet, renter: Participant, extra: string[] = []): Promise<any> {
  const data = join(net.dir, 'data');
  await mkdir(data, { recursive: true });
  for (let i = 0; i < 3; i++) await writeFile(join(data, `part-${i}.bin`), randomBytes(1_500_000));
  await writeFile(join(data, 'notes.txt'), 'kept by hosts paid for what they prove\n');
  await net.run(renter, ['store', 'init']);
  return net.run(renter, ['store', 'push', data, ...extra]);
}

async function registry(net: LiveDevnet, p: Participant): Promise<any> {
  return net.client(p).node('GET', '/ext/negotiator/registry');
}

test.serial('a host is paid, and keeps its collateral, in proportion to the windows it proved: kept, lost after window 2, gone after window 3 (back before or after the refund height)', async (t) => {
  t.timeout(300_000);
  const net = await LiveDevnet.up(t, 4);
  const renter = net.get('renter');
  // A keeps its data; B loses it after its second window; C and D go after their third, D back at the end, C after the refund height.
  const [A, B, C, D] = ['host1', 'host2', 'host3', 'host4'].map((n) => net.get(n));
  const hosts = [A, B, C, D];
  const proves = new Map([[A, WINDOWS], [B, 2], [C, 3], [D, 3]]);
  let running = [renter, ...hosts];

  // A funding spends confirmed coins only: a few more of the renter's block rewards mature, one for each contract.
  await net.mine(renter, hosts.length, running);
  const made = await contractDevnetHosts(net.participants, TERMS);
  const id = new Map(hosts.map((h) => [h, made.find((c) => c.host === h.name)!.contractId]));
  const terms = await Promise.all(hosts.map((h) => contractOn(net, renter, id.get(h)!)));
  const keyOf = new Map(hosts.map((h, i) => [h, terms[i].hostKey as string]));
  const renterKey = terms[0].renterKey as string;
  for (const c of terms) t.deepEqual([c.payment, c.collateral, c.endHeight - c.startHeight], [PAYMENT, COLLATERAL, DURATION]);
  const start = terms[0].startHeight as number;
  const end = start + DURATION;
  const refund = terms[0].refundHeight as number;
  t.true(terms.every((c) => c.startHeight === start), 'funded in one block: the windows of the contracts line up');
  const before = new Map(await Promise.all(running.map(async (p) => [p, await balance(net, p)] as const)));

  const push = await pushData(net, renter);
  t.deepEqual([push.hosts, push.hostsDown], [hosts.length, []]);
  let tip = await net.mine(renter, 1, running);
  // What is stored is committed: the daemon signs a revision over each host's sectors with the host, on its own.
  await waitFor(async () => (await Promise.all(hosts.map((h) => progress(net, renter, id.get(h)!)))).every((p) => p.committed > 0), 60_000, 'a commitment revision with every host');
  for (const h of hosts) {
    const committed = (await progress(net, renter, id.get(h)!)).committed;
    t.is(committed, (await sectorFiles(h, id.get(h)!)).length, `every sector ${h.name} holds is committed`);
  }

  let lost = false;
  let gone = false;
  for (;;) {
    for (const h of hosts) await decided(net, renter, id.get(h)!, start, tip, proves.get(h)!);
    if (!lost && (await progress(net, renter, id.get(B)!)).proven === 2) {
      t.true((await sectorFiles(B, id.get(B)!)).length > 0);
      // The disk is lost: every sector of the contract and its cached root.
      const dir = contractDir(B, id.get(B)!);
      for (const fan of await readdir(dir)) await rm(join(dir, fan), { recursive: true });
      t.deepEqual(await sectorFiles(B, id.get(B)!), []);
      lost = true;
    }
    if (!gone && (await progress(net, renter, id.get(C)!)).proven === 3) {
      // C and D go once their third window is paid for: the renter holds their signatures of PAY(3) and SPLIT(3).
      await waitFor(async () => {
        const seen = await Promise.all([C, D].flatMap((h) => [progress(net, renter, id.get(h)!), progress(net, h, id.get(h)!)]));
        return seen.every((p) => p.acknowledged === 3);
      }, 30_000, 'C and D acknowledging the payment for 3 windows');
      await Promise.all([C, D].map((h) => net.stop(h)));
      running = running.filter((p) => p !== C && p !== D);
      gone = true;
    }
    if (tip >= end) break;
    tip = await net.mine(renter, 1, running);
  }
  t.true(lost && gone);

  await net.restart(D);
  running = [...running, D];
  await net.synced(running);
  const final = async (h: Participant) => {
    const p = await progress(net, renter, id.get(h)!);
    return p.proven === proves.get(h) && p.missed === WINDOWS - proves.get(h)!;
  };
  await net.mineUntil('every window decided', renter, running, async () => (await Promise.all(hosts.map(final))).every(Boolean), 4);
  // From the end the hosts online settle on their own: A both outputs (it proved every window), B and D their payment only.
  // A host whose windows are not all decided in its latest revision waits a window past the end for a last one.
  await net.mineUntil('A, B and D broadcasting their latest PAY (and A its SPLIT) from the end', renter, running, async () => {
    const [a, b, d] = await Promise.all([A, B, D].map((h) => contractOn(net, renter, id.get(h)!)));
    return Boolean(a.paymentSpent && a.collateralSpent && b.paymentSpent && d.paymentSpent);
  }, WINDOW + 4);
  for (const h of [B, D]) t.is((await contractOn(net, renter, id.get(h)!)).collateralSpent, null, `${h.name} broadcasts no SPLIT of its own: it proved less than every window`);

  tip = await net.height(renter);
  if (refund - 1 > tip) tip = await net.mine(renter, refund - 1 - tip, running);
  t.is((await contractOn(net, renter, id.get(C)!)).paymentSpent, null, 'nothing spends C\'s escrow before the refund height');
  // At the refund height the renter settles what the hosts did not: C's payment at the 3 windows C proved, and the collateral of every host that missed a window.
  await net.mineUntil('the renter settling B, C and D at the refund height', renter, running, async () => {
    const [b, c, d] = await Promise.all([B, C, D].map((h) => contractOn(net, renter, id.get(h)!)));
    return Boolean(b.collateralSpent && c.paymentSpent && c.collateralSpent && d.collateralSpent);
  }, 6);

  // C comes back after the refund height: what it proved is in its wallet all the same.
  await net.restart(C);
  running = [renter, ...hosts];
  await net.synced(running);
  // Each party rates the other on its own once the contract's payment is settled.
  await net.mineUntil('two ratings a contract on chain', renter, running, async () => (await registry(net, renter)).ratings.length === 2 * hosts.length, 8);
  await net.synced(running);

  const dumps = await Promise.all(running.map((p) => registry(net, p)));
  for (const [i, d] of dumps.entries()) t.deepEqual(d, dumps[0], `${running[i].name}'s registry is the renter's`);
  const contract = new Map(hosts.map((h) => [h, dumps[0].contracts.find((c: any) => c.id === id.get(h))]));
  const outcome = new Map(hosts.map((h) => [h, contract.get(h).outcome]));
  t.like(outcome.get(A), { windows: WINDOWS, proven: WINDOWS, missed: 0, hostPaid: PAYMENT - FEE, renterRefunded: 0, collateralReturned: COLLATERAL - FEE, burned: 0, paymentBy: 'settlement', collateralBy: 'settlement' });
  t.like(outcome.get(B), { windows: WINDOWS, proven: 2, hostPaid: share(PAYMENT, 2), renterRefunded: PAYMENT - share(PAYMENT, 2) - FEE, collateralReturned: share(COLLATERAL, 2) - FEE, burned: COLLATERAL - share(COLLATERAL, 2), paymentBy: 'settlement', collateralBy: 'settlement' });
  for (const h of [C, D]) {
    const o = outcome.get(h);
    t.like(o, { windows: WINDOWS, proven: 3, collateralReturned: share(COLLATERAL, 3) - FEE, burned: COLLATERAL - share(COLLATERAL, 3), paymentBy: 'settlement', collateralBy: 'settlement' }, h.name);
    t.is(o.hostPaid + o.renterRefunded, PAYMENT - FEE, `${h.name}'s payment split at 3 of 6 windows, the fee from one side`);
    t.true(o.hostPaid >= share(PAYMENT, 3) - FEE && o.hostPaid <= share(PAYMENT, 3), h.name);
  }
  // Only D's own (host variant) PAY can be mined before the refund height; C's is the renter's.
  t.true(contract.get(D).paymentSpent.height < refund && contract.get(C).paymentSpent.height > refund);

  const ratings = dumps[0].ratings as { contractId: string; raterKey: string; score: number }[];
  const score = (h: Participant, rater: string) => ratings.find((r) => r.contractId === id.get(h) && r.raterKey === rater)?.score;
  t.deepEqual(hosts.map((h) => score(h, renterKey)), [5, 2, 3, 3], 'the renter rates each host 1 + round(4p/W)');
  t.deepEqual(hosts.map((h) => score(h, keyOf.get(h)!)), [5, 5, 5, 5], 'each host rates the renter 5: it was paid what it acknowledged');

  // Wallets: each moved by what the chain says it got, less its own rating's fee.
  for (const h of hosts) {
    const o = outcome.get(h);
    const gained = (await balance(net, h)) - before.get(h)!;
    const due = o.hostPaid + o.collateralReturned;
    t.true(gained <= due && gained >= due - RATING_FEE_MAX, `${h.name} gained ${gained}, due ${due}`);
  }
  t.is(outcome.get(A).hostPaid + outcome.get(A).collateralReturned, PAYMENT + COLLATERAL - 2 * FEE, 'A is paid the whole payment and gets its whole collateral back');
  const refunded = hosts.reduce((s, h) => s + outcome.get(h).renterRefunded, 0);
  const renterGained = (await balance(net, renter)) - before.get(renter)!;
  t.true(renterGained <= refunded && renterGained >= refunded - hosts.length * RATING_FEE_MAX, `the renter gained ${renterGained}, the unearned rest is ${refunded}`);

  // Every ccpay went to every peer: the hosts it was not for dropped it unread, and none held it against the renter.
  for (const h of [A, B]) {
    const peers: { addr: string; banscore: number }[] = await net.client(h).rpc('getpeerinfo', []);
    const scores = peers.filter((x) => x.addr === `127.0.0.1:${renter.port}`).map((x) => x.banscore);
    t.true(scores.length > 0 && scores.every((x) => x === 0), `${h.name} keeps the renter as a peer in good standing: ban scores ${scores.join(', ')}`);
  }

  for (const p of running) {
    const rep = new Map(await Promise.all(hosts.map(async (h) => [h, await net.run(p, ['contract', 'reputation', keyOf.get(h)!])] as const)));
    const scores = hosts.map((h) => rep.get(h).score);
    t.true(scores.slice(1).every((x) => x < scores[0]), `${p.name}: B, C and D below A (${scores.map((x) => x.toFixed(3)).join(', ')})`);
    t.deepEqual(hosts.map((h) => [rep.get(h).fulfilment.windows, rep.get(h).fulfilment.proven]), [[WINDOWS, WINDOWS], [WINDOWS, 2], [WINDOWS, 3], [WINDOWS, 3]], `${p.name}: the windows each host proved`);
    t.deepEqual(hosts.map((h) => Math.round(rep.get(h).fulfilment.ratio * 1e9) / 1e9), [1, 0.333333333, 0.5, 0.5], p.name);
  }
});

test.serial('the renter\'s node stops after window 2: its host still broadcasts PAY(2) at the end and is paid for windows 1-2', async (t) => {
  t.timeout(240_000);
  const net = await LiveDevnet.up(t, 2);
  const renter = net.get('renter');
  const A = net.get('host1');
  // host2 holds no contract: it mines once the renter's node is gone.
  const miner = net.get('host2');
  const [made] = await contractDevnetHosts([renter, A], TERMS);
  const id = made.contractId;
  const terms = await contractOn(net, renter, id);
  const start = terms.startHeight as number;
  const before = await balance(net, A);

  const push = await pushData(net, renter, ['--total-shards', '1']);
  t.is(push.hosts, 1);
  let tip = await net.height(renter);
  while ((await decided(net, renter, id, start, tip, WINDOWS)).proven < 2) tip = await net.mine(renter, 1, [renter, A, miner]);
  await waitFor(async () => (await progress(net, renter, id)).acknowledged === 2 && (await progress(net, A, id)).acknowledged === 2, 30_000, 'A acknowledging the payment for 2 windows');
  await net.stop(renter);

  const running = [A, miner];
  const end = start + DURATION;
  tip = await net.height(miner);
  if (end - 1 > tip) await net.mine(miner, end - 1 - tip, running);
  t.is((await contractOn(net, A, id)).paymentSpent, null, 'nothing spends the payment before the end');
  // With windows still undecided (no renter to decide them) the host waits one window past the end for a last revision.
  await net.mineUntil('A broadcasting its latest PAY after the end', miner, running, async () => Boolean((await contractOn(net, A, id)).paymentSpent), WINDOW + 4);
  await net.mineUntil('A rating the renter', miner, running, async () => (await registry(net, A)).ratings.length === 1, 6);
  await net.synced(running);

  const [dump, other] = await Promise.all(running.map((p) => registry(net, p)));
  t.deepEqual(other, dump, 'the miner\'s registry is A\'s');
  const c = dump.contracts.find((x: any) => x.id === id);
  t.like(c.outcome, { windows: WINDOWS, proven: 2, hostPaid: share(PAYMENT, 2), renterRefunded: PAYMENT - share(PAYMENT, 2) - FEE, paymentBy: 'settlement', collateralBy: null });
  t.is(c.collateralSpent, null, 'the collateral is not burned: the renter was absent, not wronged');
  t.is(dump.ratings[0].score, 5, 'A rates the renter 5: it was paid what it acknowledged');
  const gained = (await balance(net, A)) - before;
  t.true(gained <= share(PAYMENT, 2) && gained >= share(PAYMENT, 2) - RATING_FEE_MAX, `A gained ${gained}`);
});
