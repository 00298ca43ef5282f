/**
 * The two implementations of secp256k1 ECDSA that sig.ts can stand on, behind
 * one interface and checked by one conformance suite (test/sig.test.ts):
 *
 * - **libsecp256k1**, Bitcoin Core's library, through the prebuilt N-API
 *   binding of the `secp256k1` package: ~80 µs to sign and ~100 µs to verify
 *   here, against OpenSSL's ~700 and ~650 and @noble/curves' ~1,000 (cold).
 *   Its signatures are RFC 6979 and low-S, byte for byte @noble/curves'.
 *   Null where the binding does not load: a platform without a prebuilt one,
 *   or the single-file server bundle, which carries no native code.
 * - **portable**: @noble/curves for keys and deterministic signing, OpenSSL
 *   (node:crypto) for verifying and for signing with a random nonce.
 *
 * Inputs are checked by sig.ts. Each method takes what is signed, the
 * preimage (domain || 0x00 || message), and hashes it with SHA-256 itself:
 * OpenSSL wants the preimage, the others the digest.
 */
import { type KeyObject, createHash, createPrivateKey, createPublicKey, randomBytes, sign as signPreimage, verify as verifyPreimage } from 'node:crypto';
import { createRequire } from 'node:module';
import { secp256k1 } from '@noble/curves/secp256k1.js';

export interface EcdsaBackend {
  readonly name: string;
  /** The 33-byte compressed public key; throws for an invalid secret key. */
  publicKey(secretKey: Uint8Array): Uint8Array;
  /** RFC 6979 deterministic, low-S, 64-byte compact, over sha256(preimage). */
  sign(preimage: Uint8Array, secretKey: Uint8Array): Uint8Array;
  /** Low-S, 64-byte compact, with a random nonce, over sha256(preimage). */
  signRandomized(preimage: Uint8Array, secretKey: Uint8Array): Uint8Array;
  /** A low-S signature of sha256(preimage) only; false, never a throw, for unparsable input. */
  verify(signature: Uint8Array, preimage: Uint8Array, publicKey: Uint8Array): boolean;
}

/** The part of the `secp256k1` package's API used here (it ships no types). */
interface _Libsecp256k1 {
  publicKeyCreate(secretKey: Uint8Array, compressed: boolean): Uint8Array;
  ecdsaSign(digest: Uint8Array, secretKey: Uint8Array, options?: { data?: Uint8Array }): { signature: Uint8Array };
  ecdsaVerify(signature: Uint8Array, digest: Uint8Array, publicKey: Uint8Array): boolean;
}

const _sha256 = (preimage: Uint8Array): Buffer => createHash('sha256').update(preimage).digest();

function _loadLibsecp256k1(): EcdsaBackend | null {
  let lib: _Libsecp256k1;
  try {
    // The binding itself, not the package's entry point: that falls back to
    // pure-JS elliptic, slower than the portable backend.
    lib = createRequire(import.meta.url)('secp256k1/bindings') as _Libsecp256k1;
  } catch {
    return null;
  }
  return {
    name: 'libsecp256k1',
    publicKey: (secretKey) => lib.publicKeyCreate(secretKey, true),
    sign: (preimage, secretKey) => lib.ecdsaSign(_sha256(preimage), secretKey).signature,
    // Extra entropy mixed into RFC 6979, as libsecp256k1 documents for this argument.
    signRandomized: (preimage, secretKey) => lib.ecdsaSign(_sha256(preimage), secretKey, { data: randomBytes(32) }).signature,
    verify(signature, preimage, publicKey) {
      try {
        return lib.ecdsaVerify(signature, _sha256(preimage), publicKey);
      } catch {
        return false;
      }
    },
  };
}

export const libsecp256k1: EcdsaBackend | null = _loadLibsecp256k1();

/** floor(n / 2) of secp256k1: a low-S signature's s is at most this. */
const _HALF_ORDER = Buffer.from('7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0', 'hex');
const _ORDER = secp256k1.Point.CURVE().n;
/** DER SubjectPublicKeyInfo header of a compressed secp256k1 key (id-ecPublicKey, secp256k1, 33-byte bit string). */
const _SPKI_PREFIX = Buffer.from('3036301006072a8648ce3d020106052b8104000a032200', 'hex');
const _KEYS_MAX = 1024;
/** Parsed keys by hex: a server sees the same few renter keys request after request; a client signs with one. */
const _publicKeys = new Map<string, KeyObject | null>();
const _secretKeys = new Map<string, KeyObject>();

function _cached<V>(map: Map<string, V>, key: Uint8Array, make: () => V): V {
  const hex = Buffer.from(key).toString('hex');
  if (map.has(hex)) return map.get(hex)!;
  const value = make();
  if (map.size >= _KEYS_MAX) map.delete(map.keys().next().value!);
  map.set(hex, value);
  return value;
}

/** The key as OpenSSL's KeyObject, or null if it is not a point of the curve. */
function _publicKeyObject(publicKey: Uint8Array): KeyObject | null {
  return _cached(_publicKeys, publicKey, () => {
    try {
      return createPublicKey({ key: Buffer.concat([_SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
    } catch {
      return null;
    }
  });
}

function _secretKeyObject(secretKey: Uint8Array): KeyObject {
  return _cached(_secretKeys, secretKey, () => {
    const pub = secp256k1.getPublicKey(secretKey, false);
    const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
    return createPrivateKey({ key: { kty: 'EC', crv: 'secp256k1', d: b64(secretKey), x: b64(pub.subarray(1, 33)), y: b64(pub.subarray(33)) }, format: 'jwk' });
  });
}

/** True if s, the second half of a compact signature, is at most n / 2. */
function _isLowS(signature: Uint8Array): boolean {
  return Buffer.compare(signature.subarray(32), _HALF_ORDER) <= 0;
}

export const portable: EcdsaBackend = {
  name: 'portable',
  publicKey: (secretKey) => secp256k1.getPublicKey(secretKey, true),
  sign: (preimage, secretKey) => secp256k1.sign(_sha256(preimage), secretKey, { prehash: false, lowS: true }),
  signRandomized(preimage, secretKey) {
    // OpenSSL hashes what it is given with sha256.
    const sig = signPreimage('sha256', preimage, { key: _secretKeyObject(secretKey), dsaEncoding: 'ieee-p1363' });
    if (!_isLowS(sig)) {
      // (r, n - s) is the same signature's low-S form, the only one verify accepts.
      const s = _ORDER - BigInt(`0x${sig.subarray(32).toString('hex')}`);
      Buffer.from(s.toString(16).padStart(64, '0'), 'hex').copy(sig, 32);
    }
    return sig;
  },
  verify(signature, preimage, publicKey) {
    // OpenSSL accepts high-S signatures: refused here first.
    if (!_isLowS(signature)) return false;
    const key = _publicKeyObject(publicKey);
    if (!key) return false;
    try {
      return verifyPreimage('sha256', preimage, { key, dsaEncoding: 'ieee-p1363' }, signature);
    } catch {
      return false;
    }
  },
};
