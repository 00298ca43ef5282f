import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { BanScore } from '../src/lib/net/errors.js';
import type { NegotiationPacket } from '../src/lib/net/packet.js';
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
