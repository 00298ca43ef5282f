import test from 'ava';
import { randomBytes } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { generateKeyPair, sign, signRandomized, verify, publicKeyOf, signingDigest } from '../src/lib/crypto/sig.js';

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

test('verify (OpenSSL) agrees with @noble/curves on valid, tampered, high-S, zero and off-curve input', (t) => {
  const n = secp256k1.Point.CURVE().n;
  const noble = (d: string, m: Uint8Array, s: Uint8Array, p: Uint8Array) => {
    try {
      return secp256k1.verify(s, signingDigest(d, m), p, { prehash: false, lowS: true });
    } catch {
      return false;
    }
  };
  const a = generateKeyPair();
  for (let i = 0; i < 50; i++) {
    const msg = randomBytes(i * 7);
    const sig = sign('cc-test', msg, a.secretKey);
    const s = BigInt(`0x${Buffer.from(sig.subarray(32)).toString('hex')}`);
    const high = Buffer.concat([sig.subarray(0, 32), Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex')]);
    const flipped = Buffer.from(sig);
    flipped[i % 64] ^= 1;
    const offCurve = Buffer.from(a.publicKey);
    offCurve[0] = 0x05;
    const cases: [Uint8Array, Uint8Array][] = [[sig, a.publicKey], [high, a.publicKey], [flipped, a.publicKey], [new Uint8Array(64), a.publicKey], [sig, offCurve], [sig, generateKeyPair().publicKey]];
    for (const [sg, pk] of cases) t.is(verify('cc-test', msg, sg, pk), noble('cc-test', msg, sg, pk));
    t.true(verify('cc-test', msg, sig, a.publicKey));
    t.false(verify('cc-test', msg, high, a.publicKey), 'high-S is refused');
  }
});

test('signRandomized: valid low-S signatures by @noble/curves, a new one each time, also where OpenSSL gave a high S', (t) => {
  const half = secp256k1.Point.CURVE().n / 2n;
  const a = generateKeyPair();
  const seen = new Set<string>();
  for (let i = 0; i < 64; i++) {
    const msg = randomBytes(i * 5);
    const sig = signRandomized('cc-test', msg, a.secretKey);
    t.is(sig.length, 64);
    t.true(BigInt(`0x${Buffer.from(sig.subarray(32)).toString('hex')}`) <= half, 'low S');
    t.true(secp256k1.verify(sig, signingDigest('cc-test', msg), a.publicKey, { prehash: false, lowS: true }), `message ${i}`);
    t.true(verify('cc-test', msg, sig, a.publicKey));
    t.false(verify('cc-other', msg, sig, a.publicKey));
    seen.add(Buffer.from(sig).toString('hex'));
  }
  t.is(seen.size, 64);
  const msg = new Uint8Array([1, 2, 3]);
  t.not(Buffer.from(signRandomized('cc-test', msg, a.secretKey)).toString('hex'), Buffer.from(signRandomized('cc-test', msg, a.secretKey)).toString('hex'));
  t.throws(() => signRandomized('cc-test', msg, a.secretKey.subarray(1)), { instanceOf: RangeError });
  t.throws(() => signRandomized('', msg, a.secretKey), { instanceOf: TypeError });
});
