/**
 * Random and mutated cc* messages through the whole input path (dispatch:
 * decode, then OfferPool or Negotiator): nothing but a ProtocolError may come out, and
 * the offers and negotiations must be exactly as before. Seeded, so a
 * failure names the seed that reproduces it (FUZZ_SEED=<n>).
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isProtocolError } from '../src/lib/net/errors.js';
import { FundPacket } from '../src/lib/net/fund.js';
import { FundSigPacket } from '../src/lib/net/fundsig.js';
import type { NegotiationPacket } from '../src/lib/net/packet.js';
import { MAX_SIZE, decode, types, type PacketType } from '../src/lib/net/packets.js';
import { dispatch } from '../src/lib/negotiator/dispatch.js';
import { MTX, Script } from '../src/lib/chain/primitives.js';
import { OfferPool } from '../src/lib/negotiator/offerpool.js';
import { Registry } from '../src/lib/negotiator/registry.js';
import { ASK, RENTER_LIMITS, TestChain, contractOf, fundingOf, party, rate, samplePackets, world } from './negotiator-fixtures.js';

const NOW = 1_800_000_000;
const SEED = Number(process.env.FUZZ_SEED ?? 0xc10dc014);

/** mulberry32: small, seeded, good enough to pick mutations. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function _decodes(cmd: string, body: Uint8Array): boolean {
  try {
    decode(cmd, body);
    return true;
  } catch {
    return false;
  }
}

/** A mutation of `src` that is none of the genuine messages (a no-op or a whole splice would be one). */
function mutate(src: Buffer, rand: () => number, others: Buffer[]): Buffer {
  for (;;) {
    const b = _mutate(src, rand, others);
    if (!b.equals(src) && !others.some((o) => o.equals(b))) return b;
  }
}

function _mutate(src: Buffer, rand: () => number, others: Buffer[]): Buffer {
  const b = Buffer.from(src);
  const int = (n: number) => Math.floor(rand() * n);
  switch (int(7)) {
    case 0: // flip a few bits
      for (let i = 0, n = 1 + int(4); i < n; i++) b[int(b.length)] ^= 1 << int(8);
      return b;
    case 1: // set bytes to edge values
      for (let i = 0, n = 1 + int(4); i < n; i++) b[int(b.length)] = [0, 1, 0x7f, 0x80, 0xff][int(5)];
      return b;
    case 2: // truncate
      return b.subarray(0, int(b.length));
    case 3: // extend with junk
      return Buffer.concat([b, Buffer.from(Array.from({ length: 1 + int(64) }, () => int(256)))]);
    case 4: { // splice with another message
      const o = others[int(others.length)];
      const cut = int(Math.min(b.length, o.length));
      return Buffer.concat([b.subarray(0, cut), o.subarray(cut)]);
    }
    case 5: // overwrite a length or count field region with a big value
      b.writeUInt16LE(0xffff, Math.max(0, int(b.length - 2)));
      return b;
    default: // duplicate a region
      return Buffer.concat([b, b.subarray(int(b.length))]);
  }
}

test('10,000 random and mutated messages: only ProtocolErrors, offers and negotiations unchanged', async (t) => {
  const rand = rng(SEED);
  const { offer, pool, h, r } = await world(NOW, { mode: 'manual' }, {}, undefined, new OfferPool({ burst: 1e9 }));

  // A live negotiation at the host, both signed, waiting for the renter's ccfund.
  const opened = r.propose(offer, ASK, RENTER_LIMITS, NOW);
  await h.handle(opened.send[0], NOW);
  const accept = h.approve(opened.negotiation.nid, NOW).send[0];
  const [sign, genuineFund] = (await r.handle(accept, NOW)).send;
  await h.handle(sign, NOW);
  const live: NegotiationPacket[] = [opened.send[0], accept, sign, genuineFund];

  const snapshot = () => JSON.stringify({ offers: pool.list(NOW).map((o) => o.hash().toString('hex')), size: pool.size, negs: h.list().map((n) => n.toJSON()) });
  const before = snapshot();

  const samples = [...Object.values(samplePackets()), ...live, offer];
  const bodies = samples.map((p) => p.encode());
  const cmds = Object.values(types) as PacketType[];
  const counts = { decoded: 0, rejected: 0, accepted: 0 };
  for (let i = 0; i < 10_000; i++) {
    let cmd: PacketType;
    let body: Buffer;
    if (rand() < 0.25) {
      cmd = cmds[Math.floor(rand() * cmds.length)];
      body = Buffer.from(Array.from({ length: Math.floor(rand() * (Math.min(MAX_SIZE[cmd], 600) + 8)) }, () => Math.floor(rand() * 256)));
      if (body.length > 0 && rand() < 0.7) body[0] = 1; // get past the version byte
    } else {
      const k = Math.floor(rand() * samples.length);
      cmd = samples[k].cmd;
      body = mutate(bodies[k], rand, bodies);
    }
    if (_decodes(cmd, body)) counts.decoded++;
    try {
      const out = await dispatch(pool, h, `peer${i % 7}`, cmd, body, NOW);
      counts.accepted++;
      if (out.announce.length > 0 || out.tx) t.fail(`seed ${SEED}, message ${i}: a mutated message was accepted`);
    } catch (err) {
      if (!isProtocolError(err)) t.fail(`seed ${SEED}, message ${i} (${cmd} ${body.toString('hex')}): ${String(err)}`);
      counts.rejected++;
    }
  }
  t.log(`negotiator fuzz (seed ${SEED}): ${counts.accepted + counts.rejected} messages, ${counts.decoded} past decode, ${counts.rejected} rejected with a ProtocolError, ${counts.accepted} taken without effect`);
  t.is(snapshot(), before, `seed ${SEED}: state changed`);
  t.true(counts.decoded > 1000, `enough messages get past decode to test the contextual checks (${counts.decoded})`);

  // The negotiation survived: the genuine ccfund still goes through.
  const out = await h.handle(genuineFund, NOW);
  t.is(out.send[0].cmd, 'ccfundsig');
  t.true(genuineFund instanceof FundPacket);
});

test('mutated records in blocks: the registry indexes only the genuine ones and never throws', async (t) => {
  const rand = rng(SEED + 1);
  const renter = party();
  const host = party();
  const record = contractOf(renter, host);
  const funding = fundingOf(record, renter, host).toTX();
  const rating = rate(record, renter, 5, 'ok').encode();
  const txs = [];
  for (let i = 0; i < 300; i++) {
    // The funding transaction's own outputs, with a mutated record in output 0.
    const mtx = new MTX();
    mtx.addInput({ prevout: { hash: funding.hash('hex'), index: 9 + i } });
    const raw = i % 2 ? mutate(record.encode(), rand, [rating]) : mutate(rating, rand, [record.encode()]);
    mtx.addOutput(Script.fromNulldata(raw.subarray(0, 1024)), 0);
    for (const out of funding.outputs.slice(1)) mtx.addOutput(out.script, out.value);
    txs.push(mtx.toTX());
  }
  const chain = new TestChain();
  chain.add(txs);
  chain.add([funding, ...txs.slice(0, 50)]);
  const dir = mkdtempSync(join(tmpdir(), 'cc-fuzz-'));
  const reg = Registry.at(dir);
  await reg.open();
  t.log(`record fuzz (seed ${SEED + 1}): ${txs.length} mutated records in two blocks`);
  t.deepEqual(await reg.connectBlock(chain.blocks[0], 0), { contracts: 0, ratings: 0, spends: 0 });
  const second = await reg.connectBlock(chain.blocks[1], 1);
  t.is(second.contracts, 1);
  t.is((await reg.listByKey(renter.id.publicKey)).length, 1);
  await reg.close();
  rmSync(dir, { recursive: true, force: true });
});

test('validly signed ccfundsig with random witnesses and coins: only ProtocolErrors, the renter keeps waiting', async (t) => {
  const rand = rng(SEED + 2);
  const { offer, host, h, r } = await world(NOW);
  const opened = r.propose(offer, ASK, RENTER_LIMITS, NOW);
  const accept = (await h.handle(opened.send[0], NOW)).send[0];
  const [sign, fund] = (await r.handle(accept, NOW)).send;
  await h.handle(sign, NOW);
  const genuine = (await h.handle(fund, NOW)).send[0] as FundSigPacket;
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));
  let tried = 0;
  for (let i = 0; i < 500; i++) {
    const witnesses = genuine.witnesses.map((items) => items.map((x) => (rand() < 0.5 ? bytes(Math.floor(rand() * 80)) : x)));
    if (rand() < 0.3) witnesses[0] = Array.from({ length: 1 + Math.floor(rand() * 8) }, () => bytes(Math.floor(rand() * 520)));
    const part = rand() < 0.2 ? { ...genuine.part, coins: genuine.part.coins.map((c) => ({ ...c, script: bytes(1 + Math.floor(rand() * 40)) })) } : genuine.part;
    const forged = new FundSigPacket(genuine, part, witnesses).sign(host.id.secretKey);
    if (forged.encode().equals(genuine.encode())) continue;
    tried++;
    try {
      await r.handle(decode(forged.cmd, forged.encode()) as NegotiationPacket, NOW);
      t.fail(`seed ${SEED}, fundsig ${i}: accepted`);
    } catch (err) {
      if (!isProtocolError(err)) t.fail(`seed ${SEED}, fundsig ${i}: ${String(err)}`);
    }
  }
  t.log(`ccfundsig fuzz (seed ${SEED + 2}): ${tried} forged ccfundsigs, every one rejected`);
  t.is(opened.negotiation.state, 'funding');
  t.true((await r.handle(genuine, NOW)).tx!.verify());
});
