import test from 'ava';
import { randomBytes } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { type EcdsaBackend, libsecp256k1, portable } from '../src/lib/crypto/ecdsa-backends.js';
import { ecdsaBackend, generateKeyPair, sign, signRandomized, verify, publicKeyOf, signingDigest } from '../src/lib/crypto/sig.js';

/** Both implementations, through the interface sig.ts uses: one conformance suite. */
const backends: EcdsaBackend[] = [portable, ...(libsecp256k1 ? [libsecp256k1] : [])];

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

test('libsecp256k1 loads from its prebuilt binding on linux-x64, and signs and verifies here', (t) => {
  if (process.platform !== 'linux' || process.arch !== 'x64') return t.pass('no prebuilt binding expected');
  t.not(libsecp256k1, null);
  t.is(ecdsaBackend, 'libsecp256k1');
});

/** [digest, preimage] of a message: noble is given the digest, a backend the preimage, as sig.ts hands it. */
function _hashed(domain: string, msg: Uint8Array): [Uint8Array, Uint8Array] {
  return [signingDigest(domain, msg), Buffer.concat([Buffer.from(domain), Buffer.from([0]), msg])];
}

for (const b of backends) {
  test(`${b.name}: keys and deterministic signatures are @noble/curves' to the byte`, (t) => {
    for (let i = 0; i < 32; i++) {
      const sk = generateKeyPair().secretKey;
      t.deepEqual(Buffer.from(b.publicKey(sk)), Buffer.from(secp256k1.getPublicKey(sk, true)));
      const [digest, preimage] = _hashed('cc-test', randomBytes(i * 3));
      t.deepEqual(Buffer.from(b.sign(preimage, sk)), Buffer.from(secp256k1.sign(digest, sk, { prehash: false, lowS: true })));
    }
    t.throws(() => b.publicKey(new Uint8Array(32)));
    t.throws(() => b.sign(new Uint8Array(3), new Uint8Array(32)));
  });

  test(`${b.name}: verify agrees with @noble/curves on valid, tampered, high-S, zero and off-curve input`, (t) => {
    const n = secp256k1.Point.CURVE().n;
    const noble = (s: Uint8Array, d: Uint8Array, p: Uint8Array) => {
      try {
        return secp256k1.verify(s, d, p, { prehash: false, lowS: true });
      } catch {
        return false;
      }
    };
    const a = generateKeyPair();
    for (let i = 0; i < 50; i++) {
      const [digest, preimage] = _hashed('cc-test', randomBytes(i * 7));
      const sig = secp256k1.sign(digest, a.secretKey, { prehash: false, lowS: true });
      const s = BigInt(`0x${Buffer.from(sig.subarray(32)).toString('hex')}`);
      const high = Buffer.concat([sig.subarray(0, 32), Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex')]);
      const flipped = Buffer.from(sig);
      flipped[i % 64] ^= 1;
      const offCurve = Buffer.from(a.publicKey);
      offCurve[0] = 0x05;
      const overN = Buffer.concat([Buffer.from(n.toString(16), 'hex'), sig.subarray(32)]);
      const cases: [Uint8Array, Uint8Array][] = [[sig, a.publicKey], [high, a.publicKey], [flipped, a.publicKey], [new Uint8Array(64), a.publicKey], [overN, a.publicKey], [sig, offCurve], [sig, generateKeyPair().publicKey]];
      for (const [sg, pk] of cases) t.is(b.verify(sg, preimage, pk), noble(sg, digest, pk));
      t.true(b.verify(sig, preimage, a.publicKey));
      t.false(b.verify(high, preimage, a.publicKey), 'high-S is refused');
    }
  });

  test(`${b.name}: signRandomized gives valid low-S signatures, a new one each time, that the other backend accepts`, (t) => {
    const half = secp256k1.Point.CURVE().n / 2n;
    const a = generateKeyPair();
    const seen = new Set<string>();
    for (let i = 0; i < 64; i++) {
      const [digest, preimage] = _hashed('cc-test', randomBytes(i * 5));
      const sig = b.signRandomized(preimage, a.secretKey);
      t.is(sig.length, 64);
      t.true(BigInt(`0x${Buffer.from(sig.subarray(32)).toString('hex')}`) <= half, 'low S');
      t.true(secp256k1.verify(sig, digest, a.publicKey, { prehash: false, lowS: true }), `message ${i}`);
      for (const other of backends) t.true(other.verify(sig, preimage, a.publicKey), `${other.name} accepts it`);
      seen.add(Buffer.from(sig).toString('hex'));
    }
    t.is(seen.size, 64);
  });
}

test('signRandomized (the active backend): valid, random, and checks its arguments', (t) => {
  const a = generateKeyPair();
  const msg = new Uint8Array([1, 2, 3]);
  const sig = signRandomized('cc-test', msg, a.secretKey);
  t.true(verify('cc-test', msg, sig, a.publicKey));
  t.false(verify('cc-other', msg, sig, a.publicKey));
  t.not(Buffer.from(signRandomized('cc-test', msg, a.secretKey)).toString('hex'), Buffer.from(sig).toString('hex'));
  t.throws(() => signRandomized('cc-test', msg, a.secretKey.subarray(1)), { instanceOf: RangeError });
  t.throws(() => signRandomized('', msg, a.secretKey), { instanceOf: TypeError });
});
