/**
 * bcoin's signatures on libsecp256k1 (src/lib/chain/native-ecdsa.ts): the
 * same answers as bcrypto's pure-JS backend they replace, on valid, tampered
 * and malformed signatures and keys, the same signatures byte for byte, and
 * a spend signed and verified through bcoin's script interpreter.
 */
import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { bcoinEcdsa } from '../src/lib/chain/native-ecdsa.js';
import { MTX, Script } from '../src/lib/chain/primitives.js';

const fromBcoin = createRequire(createRequire(import.meta.url).resolve('bcoin'));
const fromBcrypto = createRequire(fromBcoin.resolve('bcrypto'));
const patched = fromBcoin('bcrypto/lib/internal/secp256k1');
const js = fromBcrypto('secp256k1/js');
const KeyRing = fromBcoin('./primitives/keyring.js');

function _bindingLoads(): boolean {
  try {
    createRequire(import.meta.url)('secp256k1/bindings');
    return true;
  } catch {
    return false;
  }
}

const answer = (backend: { verify(m: Buffer, s: Buffer, k: Buffer): boolean }, m: Buffer, s: Buffer, k: Buffer): boolean => {
  try {
    return backend.verify(m, s, k);
  } catch {
    return false;
  }
};

test('bcoin signs and verifies on libsecp256k1 wherever its binding loads', (t) => {
  t.is(bcoinEcdsa, _bindingLoads() ? 'libsecp256k1' : 'js');
});

test('libsecp256k1 signs as the JS backend does, byte for byte (RFC 6979)', (t) => {
  for (let i = 0; i < 20; i++) {
    const key = randomBytes(32);
    const msg = createHash('sha256').update(randomBytes(8)).digest();
    const ours = patched.sign(msg, key);
    const theirs = js.sign(msg, key);
    t.true(Buffer.isBuffer(ours.signature));
    t.deepEqual(js.signatureNormalize(ours.signature), js.signatureNormalize(theirs.signature));
  }
});

test('libsecp256k1 and the JS backend agree on valid, tampered and malformed signatures and keys', (t) => {
  const cases: [string, Buffer, Buffer, Buffer][] = [];
  for (let i = 0; i < 20; i++) {
    const key = randomBytes(32);
    const msg = createHash('sha256').update(randomBytes(8)).digest();
    const sig = js.signatureNormalize(js.sign(msg, key).signature);
    const pub = js.publicKeyCreate(key, true);
    const full = js.publicKeyCreate(key, false);
    const hybrid = Buffer.from(full);
    hybrid[0] = 6 + (full[64] & 1);
    const flipped = Buffer.from(sig);
    flipped[i % 64] ^= 1;
    const other = js.publicKeyCreate(randomBytes(32), true);
    cases.push(
      ['valid', msg, sig, pub], ['uncompressed key', msg, sig, full], ['hybrid key', msg, sig, hybrid],
      ['flipped bit', msg, flipped, pub], ['other message', createHash('sha256').update(msg).digest(), sig, pub],
      ['other key', msg, sig, other], ['bad key prefix', msg, sig, Buffer.concat([Buffer.from([5]), pub.subarray(1)])],
      ['r = 0', msg, Buffer.concat([Buffer.alloc(32), sig.subarray(32)]), pub], ['s = 0', msg, Buffer.concat([sig.subarray(0, 32), Buffer.alloc(32)]), pub],
      ['r ≥ n', msg, Buffer.concat([Buffer.alloc(32, 0xff), sig.subarray(32)]), pub], ['short key', msg, sig, pub.subarray(0, 20)],
    );
  }
  for (const [name, m, s, k] of cases) t.is(answer(patched, m, s, k), answer(js, m, s, k), name);
  t.true(cases.filter(([name]) => name === 'valid').every(([, m, s, k]) => answer(patched, m, s, k)));
});

test('a P2WPKH spend verifies through bcoin\'s interpreter; the same with a changed output does not', (t) => {
  const ring = KeyRing.fromPrivate(randomBytes(32), true);
  ring.witness = true;
  const script = Script.fromProgram(0, ring.getKeyHash());
  const mtx = new MTX();
  const coin = { hash: randomBytes(32).toString('hex'), index: 0, value: 100_000, script };
  mtx.addCoin(fromBcoin('./primitives/coin.js').fromOptions({ ...coin, version: 1, height: 1 }));
  mtx.addOutput(script, 90_000);
  t.is(mtx.sign(ring), 1);
  t.true(mtx.verify());
  mtx.outputs[0].value = 80_000;
  t.false(mtx.verify());
});
