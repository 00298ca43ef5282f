import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { sha256 } from '@noble/hashes/sha2.js';
import { contractRoot } from '../src/lib/crypto/merkle.js';
import { ProtocolError } from '../src/lib/net/errors.js';
import { contractIdOf } from '../src/lib/net/terms.js';
import { REVISION_SIZE, Revision } from '../src/lib/negotiator/revision.js';
import { FIXED, FIXED_TERMS } from './negotiator-fixtures.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const cid = contractIdOf(FIXED_TERMS);
const SECTORS = [3, 1, 2].map((i) => ({ id: hex(sha256(Uint8Array.of(i))), size: i * 1000, root: sha256(Uint8Array.of(0x10 + i)) }));

const unsigned = Revision.fromSectors(cid, 1, []);
const renterSigned = Revision.fromSectors(cid, 2, SECTORS).signAsRenter(FIXED.renter.secretKey);
const both = Revision.fromSectors(cid, 3, SECTORS).signAsRenter(FIXED.renter.secretKey).signAsHost(FIXED.host.secretKey);
const samples = { 'empty-unsigned': unsigned, 'three-sectors-renter-signed': renterSigned, 'three-sectors-both-signed': both };

const VECTORS = new URL('./vectors/negotiator-revision.json', import.meta.url);
// `UPDATE_VECTORS=1 npx ava test/negotiator-revision.test.ts` rewrites the file; review the diff before committing.
if (process.env.UPDATE_VECTORS) {
  const vectors = Object.entries(samples).map(([name, r]) => ({ name, hex: r.encode().toString('hex') }));
  writeFileSync(VECTORS, JSON.stringify({ source: 'test/negotiator-revision.test.ts, keys 0x01…01 (renter) and 0x02…02 (host)', vectors }, null, 2) + '\n');
}
const file = JSON.parse(readFileSync(VECTORS, 'utf8')) as { vectors: { name: string; hex: string }[] };

const malformed = { instanceOf: ProtocolError, message: /revision/ };

test('golden vectors: revisions encode as recorded and decode back to the same bytes', (t) => {
  t.deepEqual(file.vectors.map((v) => v.name), Object.keys(samples));
  for (const v of file.vectors) {
    t.is(samples[v.name as keyof typeof samples].encode().toString('hex'), v.hex, v.name);
    t.is(Revision.decode(Buffer.from(v.hex, 'hex')).encode().toString('hex'), v.hex, v.name);
  }
  t.true(Revision.decode(Buffer.from(file.vectors[2].hex, 'hex')).verify(FIXED_TERMS));
});

test('the layout is the documented one: 81 signed bytes, then the renter and host signatures', (t) => {
  const raw = both.encode();
  t.is(raw.length, REVISION_SIZE);
  t.is(REVISION_SIZE, 209);
  t.is(raw[0], 1);
  t.deepEqual(raw.subarray(1, 33), cid);
  t.is(raw.readUInt32LE(33), 3);
  t.is(raw.readUInt32LE(37), 3);
  t.is(raw.readBigUInt64LE(41), 6000n);
  t.is(hex(raw.subarray(49, 81)), hex(contractRoot(SECTORS)));
  t.deepEqual(raw.subarray(0, 81), both.signedBytes());
  t.deepEqual(raw.subarray(81, 145), Buffer.from(both.renterSig));
  t.deepEqual(raw.subarray(145, 209), Buffer.from(both.hostSig));
  t.is(hex(unsigned.encode().subarray(49)), '00'.repeat(32 + 128), 'no sectors: zero root; no signatures: zero bytes');
});

test('signatures: each party verifies under its own key only; an unsigned slot never verifies', (t) => {
  t.true(renterSigned.renterSigned);
  t.false(renterSigned.hostSigned);
  t.true(renterSigned.verifyRenter(FIXED.renter.publicKey));
  t.false(renterSigned.verifyRenter(FIXED.host.publicKey));
  t.false(renterSigned.verifyHost(FIXED.host.publicKey));
  t.false(renterSigned.verify(FIXED_TERMS));
  t.true(both.verifyHost(FIXED.host.publicKey));
  t.true(both.verify(FIXED_TERMS));
  const changed = Revision.decode(both.encode());
  changed.revision = 4;
  t.false(changed.verifyRenter(FIXED.renter.publicKey), 'the number is signed');
  const swapped = Revision.decode(both.encode());
  [swapped.renterSig, swapped.hostSig] = [swapped.hostSig, swapped.renterSig];
  t.false(swapped.verify(FIXED_TERMS));
});

test('decoding is strict: length, version, number, totals, empty root', (t) => {
  const raw = both.encode();
  t.throws(() => Revision.decode(raw.subarray(0, REVISION_SIZE - 1)), { instanceOf: ProtocolError, message: /truncated/ });
  t.throws(() => Revision.decode(Buffer.concat([raw, Buffer.of(0)])), { instanceOf: ProtocolError, message: /trailing/ });
  const edit = (f: (b: Buffer) => void) => {
    const b = Buffer.from(raw);
    f(b);
    return () => Revision.decode(b);
  };
  t.throws(edit((b) => (b[0] = 2)), malformed);
  t.throws(edit((b) => b.writeUInt32LE(0, 33)), malformed);
  t.throws(edit((b) => b.writeBigUInt64LE(2n, 41)), { ...malformed, message: /cannot fill 3 sectors/ });
  t.throws(edit((b) => b.writeBigUInt64LE(BigInt(3 * 4 * 1024 * 1024 + 1), 41)), { ...malformed, message: /cannot fill/ });
  t.throws(edit((b) => b.writeUInt32LE(0, 37)), malformed);
  const empty = Buffer.from(unsigned.encode());
  empty[60] = 1;
  t.throws(() => Revision.decode(empty), { ...malformed, message: /non-empty root/ });
  t.notThrows(edit((b) => b.writeUInt32LE(0xffffffff, 33)), 'the largest number');
});

test('checkFor: the contract it names and the bytes it rents', (t) => {
  t.notThrows(() => both.checkFor(FIXED_TERMS));
  t.throws(() => both.checkFor({ ...FIXED_TERMS, nid: new Uint8Array(32) }), { ...malformed, message: /another contract/ });
  const small = { ...FIXED_TERMS, size: 5999 };
  const over = Revision.fromSectors(contractIdOf(small), 1, SECTORS);
  t.throws(() => over.checkFor(small), { ...malformed, message: /6000 bytes committed/ });
});

test('fromSectors commits to the set: order does not matter, sizes add up', (t) => {
  const a = Revision.fromSectors(cid, 5, SECTORS);
  const b = Revision.fromSectors(cid, 5, [...SECTORS].reverse());
  t.deepEqual(a.encode(), b.encode());
  t.is(a.sectorCount, 3);
  t.is(a.totalBytes, 6000);
  t.throws(() => Revision.fromSectors(cid, 0, SECTORS), malformed);
  t.throws(() => Revision.fromSectors(cid, 1, [SECTORS[0], SECTORS[0]]), { instanceOf: RangeError, message: /twice/ });
});
