/**
 * The daemons fulfil a contract on their own, inside one process: a renter
 * and a host NegotiatorService on MemoryNodeAdapters that share one
 * MemoryChain, and the host's real file server (in-process, its authority
 * and revision signer the host's service). The renter's daemon commits to
 * what the host holds, challenges each window, pays for what was proven;
 * the host countersigns and acknowledges; at the end each broadcasts what
 * the design says, and rates the other.
 */
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Level } from 'level';
import type { BTX } from '../src/lib/chain/primitives.js';
import { generateKeyPair, type KeyPair } from '../src/lib/crypto/sig.js';
import { FundingOutput, refundHeightOf } from '../src/lib/negotiator/escrow.js';
import { decodeRecord, OutcomeRecord, RatingRecord } from '../src/lib/negotiator/records.js';
import { MemoryChain } from '../src/lib/negotiator/node/memory-chain.js';
import { Revision } from '../src/lib/negotiator/revision.js';
import { MemoryNodeAdapter } from '../src/lib/negotiator/node/memory-adapter.js';
import { NegotiatorService } from '../src/lib/negotiator/node/service.js';
import { NegotiatorRefusedError, parseServedContract } from '../src/lib/server/authority.js';
import { FileServerClient } from '../src/lib/server/file-server-client.js';
import { startFileServer, type FileServer } from '../src/lib/server/file-server.js';
import { isCloudCoinError } from '../src/lib/errors.js';
import { party, walletOf } from './negotiator-fixtures.js';
import { tempDir, waitFor } from './util/devnode.js';

const require = createRequire(import.meta.url);
const CoinView = require('bcoin/lib/coins/coinview.js');

const PASSPHRASE = 'fulfilment';
const GiB = 1024 ** 3;
/** 3 windows of 4 blocks on dev. */
const DURATION = 12;

interface Party {
  node: MemoryNodeAdapter;
  svc: NegotiatorService;
  identity: KeyPair;
}

interface World {
  chain: MemoryChain;
  host: Party;
  renter: Party;
  storageDir: string;
  contractId: string;
  funding: BTX;
  /** The renter's client of the host's file server, as its store would use it. */
  client: FileServerClient;
  server: FileServer;
}

async function start(t: ExecutionContext, chain: MemoryChain): Promise<Party> {
  const node = new MemoryNodeAdapter({ chain, passphrase: PASSPHRASE, funder: walletOf(party()) });
  const db = new Level<string, Buffer>(tempDir(t, 'cc-fulfil-'), { valueEncoding: 'buffer' });
  const identity = generateKeyPair();
  // Rounds run on each block; the timer stays out of the way of what a test checks.
  const svc = new NegotiatorService(node, db, identity, { roundEveryMs: 3_600_000 });
  node.listen((peer, cmd, payload) => svc.onMessage(peer, cmd, payload));
  await svc.open();
  t.teardown(async () => {
    await svc.close();
    await db.close();
  });
  return { node, svc, identity };
}

/**
 * A funded contract of DURATION blocks between two services, one block
 * past its start, and the host's file server holding `sectors` of it. The
 * daemons' rounds run with each block, before the sectors are there: window
 * 0 may be proven on an earlier commitment than the one the test checks.
 */
async function world(t: ExecutionContext, sectors = 2): Promise<World> {
  const chain = new MemoryChain();
  chain.mineEmpty(3);
  const host = await start(t, chain);
  const renter = await start(t, chain);
  MemoryNodeAdapter.connect(host.node, renter.node);
  const storageDir = tempDir(t, 'cc-fulfil-server-');
  const server = await startFileServer({
    storageDir,
    hostKey: Buffer.from(host.identity.publicKey).toString('hex'),
    logFormat: 'none',
    authority: {
      lookup: async (id) => {
        try {
          return parseServedContract(await host.svc.contract(id), id);
        } catch (err) {
          if (isCloudCoinError(err) && err.code === 'ENOTFOUND') return null;
          throw err;
        }
      },
    },
    signer: {
      // As HttpContractAuthority does over HTTP: the Negotiator's refusal is the renter's to read.
      countersign: async (id, hex) => {
        try {
          return (await host.svc.countersign(id, hex)).revision;
        } catch (err) {
          if (isCloudCoinError(err)) throw new NegotiatorRefusedError(err.message, 409);
          throw err;
        }
      },
    },
  });
  t.teardown(() => server.close());
  const offer = await host.svc.createOffer({
    price: 10_000_000, collateral: 20_000_000, minSize: 1, maxSize: GiB, minDuration: 4, maxDuration: 1000, url: server.url, validity: 3600, host: { capacity: 10 * GiB },
  });
  await waitFor(async () => (await renter.svc.listOffers()).length === 1, 5_000, 'the offer at the renter');
  const r = await renter.svc.negotiate({ offer: offer.hash, size: GiB, duration: DURATION, timeout: 10_000 });
  if (r.outcome !== 'funded') throw new Error(`negotiation ended ${r.outcome}: ${r.reason ?? r.error?.message}`);
  const funding = renter.node.mempool[0];
  chain.mine([funding]);
  // The renter's daemon leaves a contract alone in the block that funds it.
  chain.mine();
  const contractId = r.negotiation.contractId;
  await host.svc.synced();
  await renter.svc.synced();
  const client = new FileServerClient({ url: server.url, contractId, secretKey: renter.identity.secretKey });
  const ids: string[] = [];
  for (let i = 0; i < sectors; i++) {
    const id = randomBytes(32).toString('hex');
    await client.put(id, randomBytes(1000 + i * 4096));
    ids.push(id);
  }
  await renter.svc.setExpectedSectors(contractId, ids);
  return { chain, host, renter, storageDir, contractId, funding, client, server };
}

/** Mines `n` blocks one by one and lets both daemons finish their rounds after each. */
async function mine(w: World, n: number, txs: BTX[] = []): Promise<void> {
  for (let i = 0; i < n; i++) {
    w.chain.mine(i === 0 ? txs : []);
    await w.renter.svc.fulfilment.round();
    await w.host.svc.fulfilment.round();
  }
}

async function show(p: Party, id: string) {
  return p.svc.contract(id);
}

/** Waits until the renter holds the host's acknowledgement of its latest payment revision. */
async function acknowledged(w: World): Promise<void> {
  await waitFor(async () => (await show(w.renter, w.contractId)).fulfilment?.payment?.acknowledged === true, 5_000, 'the host\'s ccpayack');
}

test('each window is committed, challenged, proven and paid; both sides show the same counts', async (t) => {
  const w = await world(t);
  const startHeight = (await show(w.renter, w.contractId)).startHeight;
  t.is(w.chain.height, startHeight + 1, 'the contract starts with the block that funds it');
  await w.renter.svc.fulfilment.round();
  const renterSide = (await show(w.renter, w.contractId)).fulfilment!;
  t.like(renterSide, { windows: 3, proven: 1, missed: 0, nextWindow: startHeight + 4 });
  t.like(renterSide.commitment, { sectors: 2 });
  t.is(renterSide.commitment!.bytes, 1000 + 1000 + 4096);
  await acknowledged(w);
  const hostSide = (await show(w.host, w.contractId)).fulfilment!;
  t.like(hostSide, { windows: 3, proven: 1, missed: 0 });
  t.deepEqual(hostSide.commitment, renterSide.commitment, 'the host countersigned the same revision');
  t.like(hostSide.payment, { proven: 1, acknowledged: true });
  t.true(hostSide.earned > 0);
  t.is(hostSide.earned, (await show(w.renter, w.contractId)).fulfilment!.earned, 'what the renter signed to pay is what the host earned');

  // A third node on the same chain: the renter's ccpays reach it too, and it drops them unread.
  const bystander = await start(t, w.chain);
  MemoryNodeAdapter.connect(w.renter.node, bystander.node);
  await mine(w, 8);
  await acknowledged(w);
  t.like((await show(w.renter, w.contractId)).fulfilment, { proven: 3, missed: 0, nextWindow: null, payment: { proven: 3, acknowledged: true } });
  for (const p of [w.renter, w.host, bystander]) {
    t.deepEqual(p.node.peers().map((peer) => p.node.banScore(peer)), p === w.renter ? [0, 0] : [0], 'nobody broke a rule');
  }
  t.is((await show(bystander, w.contractId)).fulfilment, null, 'not a party: it keeps nothing of the contract\'s payments');
});

test('a sector the host lost makes the windows that land on it missed once their deadline passes', async (t) => {
  const w = await world(t, 1);
  await w.renter.svc.fulfilment.round();
  t.like((await show(w.renter, w.contractId)).fulfilment, { proven: 1, commitment: { sectors: 1 } });
  rmSync(join(w.storageDir, 'sectors', w.contractId), { recursive: true, force: true });
  await mine(w, 4); // window 1 opens; the one sector it can land on is gone
  t.like((await show(w.renter, w.contractId)).fulfilment, { proven: 1, missed: 0 }, 'retried until its deadline');
  await mine(w, 4); // window 1's deadline; window 2 opens
  t.like((await show(w.renter, w.contractId)).fulfilment, { proven: 1, missed: 1 });
  await mine(w, 4);
  await acknowledged(w);
  const f = (await show(w.renter, w.contractId)).fulfilment!;
  t.is(f.missed, 2, 'windows 1 and 2 missed');
  t.like(f.payment, { proven: 1, acknowledged: true });
  t.like((await show(w.host, w.contractId)).fulfilment, { proven: 1, missed: 2 });
});

test('at the end the host broadcasts PAY and SPLIT of a fully proven contract; both rate once the payment is on chain', async (t) => {
  const w = await world(t);
  await w.renter.svc.fulfilment.round();
  await mine(w, 8);
  await acknowledged(w);
  await mine(w, 2);
  t.deepEqual(w.host.node.mempool, [], 'nothing before the end');
  await mine(w, 1);
  const spends = w.host.node.mempool.filter((tx) => tx.inputs[0].prevout.hash === w.funding.hash('hex'));
  t.deepEqual(spends.map((tx) => tx.inputs[0].prevout.index).sort(), [FundingOutput.PAYMENT, FundingOutput.COLLATERAL]);
  const view = new CoinView();
  view.addTX(w.funding, w.chain.height);
  for (const tx of spends) {
    t.true(tx.verify(view), 'both signatures satisfy the escrow script');
    const outcome = decodeRecord(tx.outputs[0].script.getNulldata()!);
    t.true(outcome instanceof OutcomeRecord);
    t.like(outcome, { windows: 3, proven: 3, missed: 0 });
  }
  await mine(w, 1, [...w.host.node.mempool]);
  const c = await show(w.renter, w.contractId);
  t.is(c.state, 'settled');
  t.is(c.fulfilment!.paid, c.fulfilment!.earned);
  await mine(w, 1);
  for (const p of [w.host, w.renter]) {
    const ratings = p.node.wallet.sent.map((tx) => decodeRecord(tx.outputs[0].script.getNulldata()!)).filter((r) => r instanceof RatingRecord);
    t.is(ratings.length, 1, 'one automatic rating each');
    t.is((ratings[0] as RatingRecord).score, 5);
  }
});

test('a host that vanished is paid what it proved: the renter broadcasts its PAY renter variant at the refund height', async (t) => {
  const w = await world(t);
  await w.renter.svc.fulfilment.round();
  await acknowledged(w);
  // The host's file server and node are gone for good: windows 1 and 2 are missed.
  await w.server.close();
  w.renter.node.penalize(w.renter.node.peers()[0], 100, 'gone');
  const refundHeight = refundHeightOf((await w.renter.svc.registry.getContract(Buffer.from(w.contractId, 'hex')))!.record.terms);
  for (let h = w.chain.height; h < refundHeight - 1; h++) {
    w.chain.mine();
    await w.renter.svc.fulfilment.round();
  }
  t.deepEqual(w.renter.node.mempool, [], 'nothing before the refund height');
  w.chain.mine();
  await w.renter.svc.fulfilment.round();
  const spends = w.renter.node.mempool.filter((tx) => tx.inputs[0].prevout.hash === w.funding.hash('hex'));
  t.deepEqual(spends.map((tx) => tx.inputs[0].prevout.index).sort(), [FundingOutput.PAYMENT, FundingOutput.COLLATERAL], 'PAY, and SPLIT since windows were missed');
  for (const tx of spends) {
    t.is(tx.locktime, refundHeight, 'the renter variants');
    t.like(decodeRecord(tx.outputs[0].script.getNulldata()!), { windows: 3, proven: 1 });
  }
});

test('the identity key goes into the wallet on the first round', async (t) => {
  const w = await world(t, 0);
  t.true(w.renter.node.wallet.imported.has(Buffer.from(w.renter.identity.publicKey).toString('hex')));
  t.true(w.host.node.wallet.imported.has(Buffer.from(w.host.identity.publicKey).toString('hex')));
});

test('switched off, the daemon acts on nothing by itself and still answers its counterparty; switched on, it catches up', async (t) => {
  const w = await world(t);
  await w.renter.svc.fulfilment.round();
  await acknowledged(w);
  t.deepEqual(await w.renter.svc.setAutomatic(false), { automatic: false });
  await w.host.svc.setAutomatic(false);
  await mine(w, 4);
  t.like((await show(w.renter, w.contractId)).fulfilment, { proven: 1, missed: 0, payment: { seq: 1 } }, 'window 1 not challenged');
  await w.renter.svc.setAutomatic(true);
  await w.renter.svc.fulfilment.round();
  await acknowledged(w);
  t.like((await show(w.renter, w.contractId)).fulfilment, { proven: 2, payment: { proven: 2 } }, 'the renter caught up; the host, switched off, still countersigned and acknowledged');
  await t.throwsAsync(w.renter.svc.setAutomatic('no'), { message: /automatic must be true or false/ });
});

test('a renter that lost its commitment state numbers its next revision above the host\'s latest', async (t) => {
  const w = await world(t);
  const id = Buffer.from(w.contractId, 'hex');
  const put = async () => {
    const sector = randomBytes(32).toString('hex');
    await w.client.put(sector, randomBytes(2000));
    const expected = [...(await w.renter.svc.fulfilment.store.expectedSectors(id))!, sector];
    await w.renter.svc.setExpectedSectors(w.contractId, expected);
    await w.renter.svc.fulfilment.round();
    return expected.length;
  };
  const n = await put();
  t.like((await show(w.renter, w.contractId)).fulfilment!.commitment, { sectors: n }, 'the host is at revision 2 at least');
  await w.renter.svc.fulfilment.store.setCommitment(id, { revision: Revision.fromSectors(id, 1, []).encode().toString('hex'), sectors: [] });
  const sectors = await put();
  const renterSide = (await show(w.renter, w.contractId)).fulfilment!.commitment!;
  t.is(renterSide.sectors, sectors);
  t.deepEqual((await show(w.host, w.contractId)).fulfilment!.commitment, renterSide, 'the host countersigned it');
});
