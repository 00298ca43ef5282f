import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { BanScore } from '../src/lib/net/errors.js';
import { OfferPacket, isOfferAddress } from '../src/lib/net/offer.js';
import type { NegotiationPacket } from '../src/lib/net/packet.js';
import { PayAckPacket, PayPacket } from '../src/lib/net/packets.js';
import { MAX_SIZE, decode, encode, isCloudCoinCommand, types, type AnyPacket } from '../src/lib/net/packets.js';
import { FIXED, samplePackets, throwsProtocol } from './negotiator-fixtures.js';

const VECTORS = new URL('./vectors/negotiator-packets.json', import.meta.url);

interface Vector {
  name: string;
  cmd: string;
  hex: string;
}

const samples = samplePackets();

// `UPDATE_VECTORS=1 npx ava test/net-packets.test.ts` rewrites the file; review the diff before committing.
if (process.env.UPDATE_VECTORS) {
  const vectors: Vector[] = Object.entries(samples).map(([name, p]) => ({ name, cmd: p.cmd, hex: p.encode().toString('hex') }));
  writeFileSync(VECTORS, JSON.stringify({ source: 'test/negotiator-fixtures.ts samplePackets(), keys 0x01…01 (renter) and 0x02…02 (host)', vectors }, null, 2) + '\n');
}
const file = JSON.parse(readFileSync(VECTORS, 'utf8')) as { vectors: Vector[] };

function reencode(p: AnyPacket): string {
  const { cmd, body } = encode(p);
  return encode(decode(cmd, body)).body.toString('hex');
}

test('every command is a cc* name bcoin can carry (ASCII, at most 12 characters)', (t) => {
  for (const cmd of Object.values(types)) {
    t.regex(cmd, /^cc[a-z]{1,10}$/);
    t.true(isCloudCoinCommand(cmd));
  }
  t.false(isCloudCoinCommand('tx'));
});

test('round trip: decode(encode(p)) encodes to the same bytes, within the maximum size', (t) => {
  for (const [name, p] of Object.entries(samples)) {
    const body = p.encode();
    t.is(body.length, p.getSize(), name);
    t.true(body.length <= MAX_SIZE[p.cmd], name);
    t.is(reencode(p), body.toString('hex'), name);
  }
});

test('golden vectors: every packet type has one, and it decodes and re-encodes byte for byte', (t) => {
  const cmds = new Set(file.vectors.map((v) => v.cmd));
  for (const cmd of Object.values(types)) t.true(cmds.has(cmd), `vector for ${cmd}`);
  for (const v of file.vectors) {
    t.is(samples[v.name].encode().toString('hex'), v.hex, `${v.name} encodes as the vector`);
    t.is(encode(decode(v.cmd, Buffer.from(v.hex, 'hex'))).body.toString('hex'), v.hex, v.name);
  }
});

test('signatures verify with the sender key only', (t) => {
  const { propose, accept } = samples as Record<string, NegotiationPacket>;
  t.true(propose.verify(FIXED.renter.publicKey));
  t.false(propose.verify(FIXED.host.publicKey));
  t.true(accept.verify(FIXED.host.publicKey));
});

function rejects(t: import('ava').ExecutionContext, cmd: string, body: Uint8Array, reason: string, score: number): Promise<void> {
  return throwsProtocol(t, () => decode(cmd, body), reason, score);
}

test('oversize, truncated, trailing and unknown-version bodies are rejected as documented', async (t) => {
  for (const p of Object.values(samples)) {
    const body = p.encode();
    await rejects(t, p.cmd, Buffer.alloc(MAX_SIZE[p.cmd] + 1), 'oversize', BanScore.oversize);
    await rejects(t, p.cmd, body.subarray(0, body.length - 1), 'malformed', BanScore.malformed);
    if (body.length < MAX_SIZE[p.cmd]) await rejects(t, p.cmd, Buffer.concat([body, Buffer.from([0])]), 'malformed', BanScore.malformed);
    await rejects(t, p.cmd, Buffer.concat([Buffer.from([2]), body.subarray(1)]), 'unknown-version', BanScore.none);
  }
});

test('a propose must open its negotiation', async (t) => {
  const body = samples.propose.encode();
  body[1 + 32] = 2; // seq = 2
  await rejects(t, types.PROPOSE, body, 'malformed', BanScore.malformed);
});

test('byte layouts match docs/protocol.md: offer fields and the negotiation header', (t) => {
  const offer = samples.offer.encode();
  t.deepEqual(offer.subarray(2, 35), Buffer.from(FIXED.host.publicKey));
  t.is(offer.readUInt32LE(35), 7, 'sequence at 35');
  t.is(offer.readUInt32LE(39), 1_900_000_000, 'expiry at 39');
  t.is(Number(offer.readBigUInt64LE(43)), 100_000, 'price at 43');
  t.is(offer[83], 'https://host.example:8443/cc'.length, 'URL length at 83');
  const counter = samples.counter.encode();
  t.is(counter.readUInt32LE(33), 2, 'seq at 33');
  t.deepEqual(counter.subarray(37, 69), (samples.propose as NegotiationPacket).hash(), 'prev at 37 is the propose hash');
  t.is(counter.readUInt32LE(69), 1_900_000_000, 'expiry at 69');
  t.is(Number(counter.readBigUInt64LE(73 + 114)), 120_000, 'terms price at body offset 114');
});

test('ccpay and ccpayack lay out as docs/protocol.md §11 says, and verify with the right party only', (t) => {
  const pay = samples.pay as PayPacket;
  const raw = pay.encode();
  t.is(raw[0], 1);
  t.deepEqual(raw.subarray(1, 33), Buffer.from(pay.contractId));
  t.deepEqual([raw.readUInt32LE(33), raw.readUInt16LE(37), raw.readUInt16LE(39), raw.readUInt16LE(41)], [4, 30, 3, 1], 'seq, W, p, m');
  t.is(raw.readUInt32LE(43), 1_900_000_000, 'expiry at 43');
  t.is(raw[47], 71, 'pay signature length at 47');
  t.is(raw[48 + 71], 72, 'split signature length after it');
  t.is(raw.length, 48 + 71 + 1 + 72 + 64);
  t.true(pay.verify(FIXED.renter.publicKey));
  t.false(pay.verify(FIXED.host.publicKey));
  const ack = samples.payack as PayAckPacket;
  const ackRaw = ack.encode();
  t.is(ackRaw.readUInt32LE(33), 4, 'the seq of the ccpay it answers, at 33');
  t.is(ackRaw[37], 70, 'pay signature length at 37');
  t.true(ack.verify(FIXED.host.publicKey));
  t.false(ack.verify(FIXED.renter.publicKey));
  const forged = PayPacket.decode(raw);
  forged.proven = 30;
  t.false(forged.verify(FIXED.renter.publicKey), 'the counts are signed');
  const swapped = PayPacket.decode(raw);
  swapped.paySig = ack.paySig;
  t.is(Buffer.from(swapped.signature).toString('hex'), Buffer.from(pay.signature).toString('hex'));
  t.false(swapped.verify(FIXED.renter.publicKey), 'escrow signatures are signed');
});

test('ccpay and ccpayack: escrow signatures of 9 to 73 bytes, seq and windows from 1, the longest fills MAX_SIZE', async (t) => {
  const pay = samples.pay as PayPacket;
  const longest = new PayPacket({ ...pay, paySig: Buffer.alloc(73, 0x30), splitSig: Buffer.alloc(73, 0x30) }).sign(FIXED.renter.secretKey);
  t.is(longest.encode().length, MAX_SIZE[types.PAY]);
  t.is(PayPacket.decode(longest.encode()).encode().toString('hex'), longest.encode().toString('hex'));
  const ack = samples.payack as PayAckPacket;
  const longestAck = new PayAckPacket({ ...ack, paySig: Buffer.alloc(73, 0x30), splitSig: Buffer.alloc(73, 0x30) }).sign(FIXED.host.secretKey);
  t.is(longestAck.encode().length, MAX_SIZE[types.PAYACK]);

  const withSig = (p: PayPacket | PayAckPacket, at: number, length: number) => {
    const b = p.encode();
    const sig = Buffer.concat([Buffer.from([length]), Buffer.alloc(length, 0x30)]);
    return Buffer.concat([b.subarray(0, at), sig, b.subarray(at + 1 + b[at])]);
  };
  await rejects(t, types.PAY, withSig(pay, 47, 8), 'malformed', BanScore.malformed);
  await rejects(t, types.PAY, withSig(pay, 47, 74), 'malformed', BanScore.malformed);
  await rejects(t, types.PAYACK, withSig(ack, 37, 8), 'malformed', BanScore.malformed);
  await rejects(t, types.PAYACK, withSig(ack, 37 + 1 + 70, 74), 'malformed', BanScore.malformed);
  t.throws(() => new PayPacket({ ...pay, splitSig: Buffer.alloc(74) }).encode(), { instanceOf: RangeError, message: /split signature/ });

  const edit = (p: PayPacket | PayAckPacket, f: (b: Buffer) => void) => {
    const b = p.encode();
    f(b);
    return b;
  };
  await rejects(t, types.PAY, edit(pay, (b) => b.writeUInt32LE(0, 33)), 'malformed', BanScore.malformed);
  await rejects(t, types.PAY, edit(pay, (b) => b.writeUInt16LE(0, 37)), 'malformed', BanScore.malformed);
  await rejects(t, types.PAYACK, edit(ack, (b) => b.writeUInt32LE(0, 33)), 'malformed', BanScore.malformed);
});

test('offer addresses: host:port only, 1..4 of them, none on a withdrawal; the flag follows the list', async (t) => {
  for (const ok of ['10.0.0.2:48444', '[::1]:1', 'seed-1.example.org:65535']) t.true(isOfferAddress(ok), ok);
  for (const bad of ['10.0.0.2', '10.0.0.2:0', '10.0.0.2:65536', 'host:80/x', ':80', '-x.example:80', `${'a'.repeat(60)}.org:80`]) t.false(isOfferAddress(bad), bad);
  const offer = samples['offer-addresses'] as OfferPacket;
  t.is(offer.flags, 2);
  const body = offer.encode();
  const urlEnd = 84 + body[83];
  t.is(body[urlEnd], 3, 'address count right after the URL');
  t.is(body.subarray(urlEnd + 2, urlEnd + 2 + body[urlEnd + 1]).toString('latin1'), '203.0.113.7:48444');
  const zeroCount = Buffer.concat([body.subarray(0, urlEnd), Buffer.from([0]), body.subarray(body.length - 64)]);
  await rejects(t, types.OFFER, zeroCount, 'malformed', BanScore.malformed);
  const withBad = new OfferPacket({ ...offer, flags: 0, addresses: ['not an address'] }).sign(FIXED.host.secretKey);
  await rejects(t, types.OFFER, withBad.encode(), 'malformed', BanScore.malformed);
  const tooMany = new OfferPacket({ ...offer, flags: 0, addresses: Array.from({ length: 5 }, (_, i) => `10.0.0.${i}:1`) }).sign(FIXED.host.secretKey);
  t.throws(() => tooMany.check(), { message: 'ccoffer: more than 4 addresses' });
  t.deepEqual(new OfferPacket({ ...offer, addresses: [] }).flags, 0, 'no addresses, no flag');
});
