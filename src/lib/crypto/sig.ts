/**
 * Identity keys and signatures shared by every CloudCoin wire format.
 *
 * Keys are secp256k1, the wallet's curve, so one key can both sign protocol
 * messages and appear in an escrow script. Public keys travel compressed
 * (33 bytes); signatures are compact low-S ECDSA (64 bytes) over
 * sha256(domain || 0x00 || message). The domain string keeps a signature made
 * for one purpose from being valid for another.
 */
import { createHash, randomBytes } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';

export const PUBKEY_SIZE = 33;
export const SIG_SIZE = 64;
export const SECRET_SIZE = 32;

export interface KeyPair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

function _check(bytes: unknown, size: number, what: string): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
  if (bytes.length !== size) throw new RangeError(`${what} must be ${size} bytes, got ${bytes.length}`);
}

/** The 32-byte digest that is signed: sha256(domain || 0x00 || message). */
export function signingDigest(domain: string, message: Uint8Array): Uint8Array {
  if (typeof domain !== 'string' || domain.length === 0) throw new TypeError('domain must be a non-empty string');
  return createHash('sha256').update(domain, 'utf8').update(Buffer.from([0])).update(message).digest();
}

/** A fresh key pair from the OS random source. */
export function generateKeyPair(): KeyPair {
  let secretKey: Uint8Array;
  do secretKey = randomBytes(SECRET_SIZE);
  while (!secp256k1.utils.isValidSecretKey(secretKey));
  return { secretKey, publicKey: secp256k1.getPublicKey(secretKey, true) };
}

export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  _check(secretKey, SECRET_SIZE, 'secretKey');
  return secp256k1.getPublicKey(secretKey, true);
}

/** Sign `message` for `domain`; returns a 64-byte compact signature. */
export function sign(domain: string, message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  _check(secretKey, SECRET_SIZE, 'secretKey');
  return secp256k1.sign(signingDigest(domain, message), secretKey, { prehash: false, lowS: true });
}

/** True only for a valid low-S signature of `message` for `domain` by `publicKey`; never throws on bad input. */
export function verify(domain: string, message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== SIG_SIZE) return false;
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBKEY_SIZE) return false;
  try {
    return secp256k1.verify(signature, signingDigest(domain, message), publicKey, { prehash: false, lowS: true });
  } catch {
    return false;
  }
}
