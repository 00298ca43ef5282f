/**
 * Identity keys and signatures shared by every CloudCoin wire format.
 *
 * Keys are secp256k1, the wallet's curve, so one key can both sign protocol
 * messages and appear in an escrow script. Public keys travel compressed
 * (33 bytes); signatures are compact low-S ECDSA (64 bytes) over
 * sha256(domain || 0x00 || message). The domain string keeps a signature made
 * for one purpose from being valid for another.
 *
 * Two implementations stand behind these functions (ecdsa-backends.ts):
 * libsecp256k1, Bitcoin Core's library, where its prebuilt binding loads
 * (~80 µs to sign, ~100 µs to verify), else @noble/curves and OpenSSL
 * (~1 ms and ~0.6 ms). Deterministic signatures (RFC 6979, so golden vectors
 * hold) are the same bytes from either. A file server checks a signature on
 * every request and a client makes one for every request: that is where the
 * difference is spent. signRandomized is for the signatures nobody needs to
 * reproduce (request signatures), where OpenSSL's random nonce is the cheaper
 * of the portable ways.
 */
import { createHash, randomBytes } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { type EcdsaBackend, libsecp256k1, portable } from './ecdsa-backends.js';

/** libsecp256k1 where it loads, else the portable backend. */
const _backend: EcdsaBackend = libsecp256k1 ?? portable;

/** Which implementation signs and verifies in this process: 'libsecp256k1' or 'portable'. */
export const ecdsaBackend = _backend.name;

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

/** domain || 0x00 || message: what is hashed with sha256 and signed. */
function _preimage(domain: string, message: Uint8Array): Buffer {
  if (typeof domain !== 'string' || domain.length === 0) throw new TypeError('domain must be a non-empty string');
  return Buffer.concat([Buffer.from(domain, 'utf8'), Buffer.from([0]), message]);
}

/** The 32-byte digest that is signed: sha256(domain || 0x00 || message). */
export function signingDigest(domain: string, message: Uint8Array): Uint8Array {
  return createHash('sha256').update(_preimage(domain, message)).digest();
}

/** A fresh key pair from the OS random source. */
export function generateKeyPair(): KeyPair {
  let secretKey: Uint8Array;
  do secretKey = randomBytes(SECRET_SIZE);
  while (!secp256k1.utils.isValidSecretKey(secretKey));
  return { secretKey, publicKey: _backend.publicKey(secretKey) };
}

export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  _check(secretKey, SECRET_SIZE, 'secretKey');
  return _backend.publicKey(secretKey);
}

/** Sign `message` for `domain`; returns a 64-byte compact signature. */
export function sign(domain: string, message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  _check(secretKey, SECRET_SIZE, 'secretKey');
  return _backend.sign(_preimage(domain, message), secretKey);
}

/**
 * Like sign, but with a random nonce: the same message gives a different
 * (equally valid, low-S) signature each time.
 */
export function signRandomized(domain: string, message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  _check(secretKey, SECRET_SIZE, 'secretKey');
  return _backend.signRandomized(_preimage(domain, message), secretKey);
}

/** True only for a valid low-S signature of `message` for `domain` by `publicKey`; never throws on bad input. */
export function verify(domain: string, message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== SIG_SIZE) return false;
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBKEY_SIZE) return false;
  if (typeof domain !== 'string' || domain.length === 0 || !(message instanceof Uint8Array)) return false;
  return _backend.verify(signature, _preimage(domain, message), publicKey);
}
