import test from 'ava';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import { cat, refPath, refTree } from './util/rfc6962.js';
import { merkleProof, merkleProofYielding, merkleRoot, segmentCount, verifyMerkleProof } from '../src/lib/crypto/merkle.js';

// The reference: RFC 6962's recursive definition (test/util/rfc6962.ts), with
// an independent sha256 (@noble/hashes). The fast implementation in
// src/lib/crypto/merkle.ts builds levels iteratively with node:crypto.
const refLeaf = (segment: Uint8Array) => {
  const padded = new Uint8Array(64);
  padded.set(segment);
  return sha256(cat(Uint8Array.of(0), padded));
};
const refLeaves = (data: Uint8Array) => {
  const out: Uint8Array[] = [];
  for (let i = 0; i < data.length; i += 64) out.push(refLeaf(data.subarray(i, i + 64)));
  return out;
};
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const pattern = (size: number) => Uint8Array.from({ length: size }, (_, i) => i % 251);

interface Vector {
  size: number;
  root: string;
  proofs: { segment: number; path: string[] }[];
}
const vectors = JSON.parse(readFileSync(new URL('./vectors/server-merkle.json', import.meta.url), 'utf8')) as { vectors: Vector[] };

test('golden vectors: roots and proofs of the documented tree', (t) => {
  t.true(vectors.vectors.length >= 8);
  for (const v of vectors.vectors) {
    const data = pattern(v.size);
    t.is(hex(merkleRoot(data)), v.root, `root of ${v.size} bytes`);
    t.is(hex(refTree(refLeaves(data))), v.root, `reference root of ${v.size} bytes`);
    for (const p of v.proofs) {
      const { proof } = merkleProof(data, p.segment);
      t.deepEqual(proof.proof.map(hex), p.path, `proof of segment ${p.segment} of ${v.size} bytes`);
      t.true(verifyMerkleProof(Buffer.from(v.root, 'hex'), proof));
    }
  }
});

test('fast implementation equals the reference on random sectors and every segment', (t) => {
  for (const size of [1, 64, 65, 127, 128, 129, 640, 1000, 4096, 4097, 64 * 37 + 5]) {
    const data = randomBytes(size);
    const leaves = refLeaves(data);
    const root = refTree(leaves);
    t.is(hex(merkleRoot(data)), hex(root), `root, ${size} bytes`);
    for (let i = 0; i < segmentCount(size); i++) {
      const { proof } = merkleProof(data, i);
      t.deepEqual(proof.proof.map(hex), refPath(leaves, i).map(hex), `path ${i}, ${size} bytes`);
      t.true(verifyMerkleProof(root, proof), `verifies ${i}, ${size} bytes`);
    }
  }
});

test('a full 4 MiB sector: proofs of random segments verify; the yielding variant gives the same answer', async (t) => {
  const data = randomBytes(4 * 1024 * 1024);
  const root = merkleRoot(data);
  for (let n = 0; n < 5; n++) {
    const i = Math.floor(Math.random() * segmentCount(data.length));
    const { proof, root: r } = merkleProof(data, i);
    t.deepEqual(r, root);
    t.is(proof.proof.length, 16);
    t.true(verifyMerkleProof(root, proof));
  }
  let turns = 0;
  const ticker = setInterval(() => turns++, 0);
  const yielded = await merkleProofYielding(data, 12345);
  clearInterval(ticker);
  t.deepEqual(yielded, merkleProof(data, 12345));
  t.true(turns > 0, 'other work ran while the yielding proof was computed');
});

test('tampered segments, paths, indexes and sizes fail verification', (t) => {
  const data = randomBytes(64 * 10 + 7);
  const root = merkleRoot(data);
  const { proof } = merkleProof(data, 3);
  const flipped = Uint8Array.from(proof.segment);
  flipped[0] ^= 1;
  t.false(verifyMerkleProof(root, { ...proof, segment: flipped }));
  const badPath = proof.proof.map((h) => Uint8Array.from(h));
  badPath[1][5] ^= 0x80;
  t.false(verifyMerkleProof(root, { ...proof, proof: badPath }));
  t.false(verifyMerkleProof(root, { ...proof, segmentIndex: 2 }));
  t.false(verifyMerkleProof(root, { ...proof, sectorSize: 64 * 20 }));
  t.false(verifyMerkleProof(root, { ...proof, proof: proof.proof.slice(1) }));
  t.false(verifyMerkleProof(root, { ...proof, proof: [...proof.proof, proof.proof[0]] }));
  t.false(verifyMerkleProof(root.subarray(1), proof));
  // The last segment is short on the wire; padding it by hand is not the same segment.
  const last = merkleProof(data, 10).proof;
  t.is(last.segment.length, 7);
  t.true(verifyMerkleProof(root, last));
  t.false(verifyMerkleProof(root, { ...last, segment: cat(last.segment, Uint8Array.of(0)) }));
});

test('a leaf cannot pose as a node: 0x00/0x01 prefixes separate them', (t) => {
  // Two segments' leaf hashes, concatenated, form a 64-byte "segment" whose
  // unprefixed hash would equal the unprefixed parent; with prefixes it does not.
  const data = randomBytes(128);
  const [a, b] = refLeaves(data);
  t.not(hex(merkleRoot(cat(a, b))), hex(merkleRoot(data)));
});

test('argument checks are precise', (t) => {
  t.throws(() => merkleRoot(new Uint8Array(0)), { instanceOf: RangeError, message: /sectorSize/ });
  t.throws(() => merkleProof(new Uint8Array(65), 2), { instanceOf: RangeError, message: /0 to 1/ });
  t.throws(() => merkleRoot('x' as unknown as Uint8Array), { instanceOf: TypeError });
  t.false(verifyMerkleProof(new Uint8Array(32), null as never));
});
