/**
 * The negotiator's figures: wire and on-chain sizes, signature throughput
 * beside raw secp256k1, negotiations per second in process, and registry
 * indexing and query times with 10,000 contracts indexed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { generateKeyPair, sign, signingDigest, verify } from '../src/lib/crypto/sig.js';
import { collateralOf, paymentOf } from '../src/lib/net/terms.js';
import type { NegotiationPacket } from '../src/lib/net/packet.js';
import type { BBlock } from '../src/lib/chain/primitives.js';
import { assembleFunding, feeShares } from '../src/lib/negotiator/escrow.js';
import { Negotiator } from '../src/lib/negotiator/negotiator.js';
import { OfferPool } from '../src/lib/negotiator/offerpool.js';
import { HostPolicy } from '../src/lib/negotiator/policy.js';
import { MAX_RATING_RECORD_SIZE, RatingRecord } from '../src/lib/negotiator/records.js';
import { Registry } from '../src/lib/negotiator/registry.js';
import { reputationFromRegistry } from '../src/lib/negotiator/reputation.js';
import {
  FIXED, TestChain, contractOf, fundingOf, offerBy, party, rate, ratingTx, samplePackets, shareOf, walletOf,
} from '../test/negotiator-fixtures.js';
import { opsPerSecond, type BenchSuite, type Figure } from './harness.js';

const NOW = Math.floor(Date.now() / 1000);
const GIB = 1024 ** 3;

function sizes(): Figure[] {
  const figures: Figure[] = Object.entries(samplePackets()).map(([name, p]) => ({ name: `size: ${p.cmd} (${name})`, value: p.encode().length, unit: 'bytes' }));
  const renter = party();
  const host = party();
  const record = contractOf(renter, host);
  const funding = fundingOf(record, renter, host).toTX();
  const rating = new RatingRecord({ contractId: record.id(), raterKey: FIXED.renter.publicKey, score: 5, comment: '' }).sign(FIXED.renter.secretKey);
  figures.push(
    { name: 'size: contract record (OP_RETURN data)', value: record.encode().length, unit: 'bytes', reference: { name: 'data carrier limit', value: 1024, unit: 'bytes' } },
    { name: 'size: rating record, no comment / longest', value: rating.encode().length, unit: 'bytes', reference: { name: 'longest', value: MAX_RATING_RECORD_SIZE, unit: 'bytes' } },
    { name: 'size: funding tx (2 P2WPKH inputs, 2 changes)', value: funding.toRaw().length, unit: 'bytes' },
  );
  return figures;
}

async function signatures(): Promise<Figure[]> {
  const k = generateKeyPair();
  const msg = samplePackets().propose.encode();
  const sig = sign('bench', msg, k.secretKey);
  const digest = signingDigest('bench', msg);
  const rawSig = secp256k1.sign(digest, k.secretKey, { prehash: false });
  const raw = await opsPerSecond(() => {
    secp256k1.verify(rawSig, digest, k.publicKey, { prehash: false });
  });
  const both = await opsPerSecond(() => {
    verify('bench', msg, sign('bench', msg, k.secretKey), k.publicKey);
  });
  const ver = await opsPerSecond(() => {
    verify('bench', msg, sig, k.publicKey);
  });
  const ref = { name: 'raw secp256k1 verify', value: raw, unit: 'op/s' };
  return [
    { name: 'message verify (domain digest + low-S)', value: ver, unit: 'op/s', reference: ref },
    { name: 'message sign + verify', value: both, unit: 'op/s', reference: ref },
  ];
}

/** 10 hosts, 50 renters negotiating at once, in process (no network, no chain): offer seen → funding tx complete. */
async function negotiations(): Promise<Figure[]> {
  const hosts = Array.from({ length: 10 }, () => {
    const p = party();
    const offers = new OfferPool();
    const n = new Negotiator({
      identity: p.id, wallet: walletOf(p), offers,
      host: { policy: new HostPolicy({ priceFloor: 0, capacity: 1e15, maxContracts: 1e6, maxFee: 1e6 }), mode: 'auto', load: () => ({ bytes: 0, contracts: 0, height: 100 }) },
    });
    return { n, offers, offer: offerBy(p.id, NOW) };
  });
  for (const h of hosts) await h.offers.add(h.offer, NOW);
  const renters = Array.from({ length: 50 }, () => {
    const p = party();
    return new Negotiator({ identity: p.id, wallet: walletOf(p), offers: new OfferPool() });
  });
  const ask = { size: 10 * GIB, startHeight: 100, duration: 4320, price: 100_000, collateral: 200_000 };
  const one = async (r: Negotiator, i: number) => {
    const h = hosts[i % hosts.length];
    let queue: NegotiationPacket[] = r.propose(h.offer, ask, { maxPrice: 1e9, minCollateral: 0 }, NOW).send;
    for (let toHost = true; queue.length > 0; toHost = !toHost) {
      const next: NegotiationPacket[] = [];
      for (const p of queue) {
        const out = await (toHost ? h.n : r).handle(p, NOW);
        next.push(...out.send);
        if (out.tx) return;
      }
      queue = next;
    }
    throw new Error('negotiation did not fund');
  };
  let done = 0;
  const start = performance.now();
  while (performance.now() - start < 3000) {
    await Promise.all(renters.map((r, i) => one(r, i + done)));
    done += renters.length;
  }
  return [{ name: 'negotiations, propose → funded (10 hosts, 50 at once)', value: (done * 1000) / (performance.now() - start), unit: 'neg/s' }];
}

async function registry(): Promise<Figure[]> {
  const N = 10_000;
  const renters = Array.from({ length: 100 }, party);
  const hosts = Array.from({ length: 10 }, party);
  const chain = new TestChain();
  chain.add();
  const records = [];
  const t0 = performance.now();
  for (let b = 0; b < N / 100; b++) {
    const txs = [];
    for (let i = 0; i < 100; i++) {
      const renter = renters[(b * 100 + i) % renters.length];
      const host = hosts[i % hosts.length];
      const record = contractOf(renter, host, { startHeight: 5, duration: 4320 + i });
      records.push({ record, renter, host });
      // The registry checks records and escrow outputs, not input scripts (the chain does): unsigned funding is enough.
      const fee = 2000;
      txs.push(assembleFunding({ record, renter: shareOf(renter, paymentOf(record.terms), feeShares(fee).renter), host: shareOf(host, collateralOf(record.terms), feeShares(fee).host), fee }).toTX());
    }
    chain.add(txs);
  }
  chain.add(records.slice(0, 2000).map(({ record, renter }, i) => ratingTx(rate(record, renter, 1 + (i % 5)))));
  const build = performance.now() - t0;

  const dir = mkdtempSync(join(tmpdir(), 'cc-bench-registry-'));
  const reg = Registry.at(dir);
  await reg.open();
  const t1 = performance.now();
  for (const [h, block] of chain.blocks.entries()) await reg.connectBlock(block as BBlock, h);
  const indexMs = performance.now() - t1;

  const ids = records.map((r) => r.record.id());
  let k = 0;
  const get = await opsPerSecond(async () => {
    await reg.getContract(ids[k++ % ids.length]);
  }, 1000);
  const host = hosts[0].id.publicKey;
  const hostCount = (await reg.listByKey(host, 'host')).length;
  const list = await opsPerSecond(async () => {
    await reg.listByKey(renters[k++ % renters.length].id.publicKey);
  }, 1000);
  const listHost = await opsPerSecond(async () => {
    await reg.listByKey(host, 'host');
  }, 1000);
  const rep = await opsPerSecond(async () => {
    await reputationFromRegistry(reg, hosts[k++ % hosts.length].id.publicKey);
  }, 1000);
  await reg.close();
  rmSync(dir, { recursive: true, force: true });
  return [
    { name: `registry: index ${N} contracts + 2000 ratings`, value: ((N + 2000) * 1000) / indexMs, unit: 'records/s', reference: { name: 'building them (2 signatures each)', value: ((N + 2000) * 1000) / build, unit: 'records/s' } },
    { name: 'registry: get contract by id', value: 1000 / get, unit: 'ms' },
    { name: 'registry: list a renter\'s 100 contracts', value: 1000 / list, unit: 'ms' },
    { name: `registry: list a host's ${hostCount} contracts`, value: 1000 / listHost, unit: 'ms' },
    { name: 'registry: reputation of a host (200 ratings)', value: 1000 / rep, unit: 'ms' },
  ];
}

export const negotiatorBench: BenchSuite = {
  name: 'negotiator',
  async run() {
    return [...sizes(), ...(await signatures()), ...(await negotiations()), ...(await registry())];
  },
};
