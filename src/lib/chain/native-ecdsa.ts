/**
 * bcoin 1.0.2 signs and checks transaction signatures through bcrypto 0.3.7,
 * whose own libsecp256k1 binding (the `secp256k1` 3.x package it nests) is
 * not built here, so it falls back to a pure-JS curve: about 16 ms to verify
 * a signature and 5 ms to make one, against 0.1 ms for libsecp256k1. A host
 * cosigning, a renter completing and every mempool checking a funding
 * transaction spent most of their time there. The prebuilt N-API binding of
 * the newer `secp256k1` package does load (crypto/ecdsa-backends.ts signs our
 * messages with it), so its sign and verify are put under bcrypto's where
 * bcrypto has no binding of its own.
 *
 * Only those two: they are what signing and script checks run, and their
 * contracts match. bcrypto hands verify a low-S 64-byte signature, a 32-byte
 * digest and the key as the script holds it, which libsecp256k1 parses as
 * Bitcoin Core does (a key or signature it cannot parse throws, which
 * bcrypto already turns into false); sign is RFC 6979 in both, so the same
 * key and digest give the same signature byte for byte.
 */
import { createRequire } from 'node:module';

/** bcrypto's internal backend, secp256k1 3.x's API. */
interface Bcrypto3Backend {
  _bcryptoBinding: boolean;
  verify(msg: Buffer, sig: Buffer, key: Buffer): boolean;
  sign(msg: Buffer, key: Buffer): { signature: Buffer; recovery: number };
}

/** secp256k1 5.x's binding. */
interface Libsecp256k1 {
  ecdsaVerify(sig: Uint8Array, msg: Uint8Array, key: Uint8Array): boolean;
  ecdsaSign(msg: Uint8Array, key: Uint8Array): { signature: Uint8Array; recid: number };
}

function _useLibsecp256k1(): 'libsecp256k1' | 'js' {
  const own = createRequire(import.meta.url);
  const backend = createRequire(own.resolve('bcoin'))('bcrypto/lib/internal/secp256k1') as Bcrypto3Backend;
  if (backend._bcryptoBinding) return 'libsecp256k1';
  let lib: Libsecp256k1;
  try {
    lib = own('secp256k1/bindings') as Libsecp256k1;
  } catch {
    return 'js';
  }
  backend.verify = (msg, sig, key) => lib.ecdsaVerify(sig, msg, key);
  backend.sign = (msg, key) => {
    const { signature, recid } = lib.ecdsaSign(msg, key);
    return { signature: Buffer.from(signature), recovery: recid };
  };
  backend._bcryptoBinding = true;
  return 'libsecp256k1';
}

/** What bcoin's transaction signatures run on: 'libsecp256k1', or 'js' where no binding loads. */
export const bcoinEcdsa = _useLibsecp256k1();
