/**
 * bcoin's elliptic-curve work on libsecp256k1, Bitcoin Core's library.
 *
 * bcoin 1.0.2 calls bcrypto 0.3.7's secp256k1 wrapper, which stands on
 * secp256k1-node 3.5: its native addon does not build on Node 20, so every
 * script signature was checked by its pure-JS fallback (~2.5 ms a check here,
 * against ~0.06 ms on libsecp256k1).
 * The `secp256k1` package (5.x) that CloudCoin already loads for its own
 * signatures ships a prebuilt N-API binding of the same library.
 *
 * The swap is below bcrypto's wrapper: the object its wrapper calls is the one
 * changed, so lax DER parsing, low-S normalisation and the argument checks stay
 * bcrypto's and secp256k1-node 3.5's own code. Only the point arithmetic moves:
 * verify, sign, creating, converting, checking and tweaking public keys. When the
 * binding fails on an input, the JS function runs on it instead, so a refusal
 * is the same throw or false as before, byte for byte the same path.
 * test/native-secp.test.ts holds the two to each other on edge vectors.
 *
 * `CLOUDCOIN_SECP=js` keeps the pure-JS path (the bench compares the two in one run).
 */
import { createRequire } from 'node:module';

type Fn = (...args: any[]) => any;
/** secp256k1-node 3.5's internal API: what its argument-checking wrapper calls. */
type Internals = Record<string, Fn>;

export type SecpBackendName = 'libsecp256k1' | 'js';

const requireHere = createRequire(import.meta.url);
const bcoinPath = requireHere.resolve('bcoin');
const backendPath = createRequire(bcoinPath).resolve('bcrypto/lib/internal/secp256k1');
const requireFromBcrypto = createRequire(backendPath);

/** The object bcrypto's secp256k1 wrapper holds and calls; its methods are replaced in place. */
const backend: Internals = requireFromBcrypto(backendPath);
const wrap: (internals: Internals) => Internals = requireFromBcrypto('secp256k1/lib/index.js');
const jsInternals: Internals = requireFromBcrypto('secp256k1/lib/js/index.js');
const jsBackend: Internals = { ...backend };

/** The part of secp256k1 5.x's API used here (it ships no types). */
interface Libsecp256k1 {
  publicKeyVerify(pub: Uint8Array): boolean;
  publicKeyCreate(priv: Uint8Array, compressed: boolean, output: (len: number) => Buffer): Buffer;
  publicKeyConvert(pub: Uint8Array, compressed: boolean, output: (len: number) => Buffer): Buffer;
  publicKeyTweakAdd(pub: Uint8Array, tweak: Uint8Array, compressed: boolean, output: (len: number) => Buffer): Buffer;
  ecdsaSign(msg: Uint8Array, priv: Uint8Array, options: { data?: Uint8Array }, output: (len: number) => Buffer): { signature: Buffer; recid: number };
  ecdsaVerify(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean;
}

const buffer = (len: number): Buffer => Buffer.alloc(len);

/** How many signature checks each path has run in this process. */
export const secpCounters = { nativeVerifies: 0, jsVerifies: 0 };

function loadBinding(): Libsecp256k1 | null {
  if (process.env.CLOUDCOIN_SECP === 'js') return null;
  try {
    // The binding itself: the package's entry point would fall back to elliptic.
    return requireHere('secp256k1/bindings') as Libsecp256k1;
  } catch {
    return null;
  }
}

/** `fn` on libsecp256k1; on any refusal, the JS function decides, so errors and false come from the same code as before. */
function orJs(name: string, fn: Fn): Fn {
  const js = jsInternals[name];
  return (...args: any[]) => {
    try {
      return fn(...args);
    } catch {
      return js(...args);
    }
  };
}

function nativeInternals(lib: Libsecp256k1): Internals {
  // Both are RFC 6979 with `data` as extra entropy, and low-S: the same signature.
  const nativeSign = orJs('sign', (msg, priv, _noncefn, data) => {
    const { signature, recid } = lib.ecdsaSign(msg, priv, data ? { data } : {}, buffer);
    return { signature, recovery: recid };
  });
  return {
    ...jsInternals,
    publicKeyCreate: orJs('publicKeyCreate', (priv, compressed) => lib.publicKeyCreate(priv, compressed, buffer)),
    publicKeyConvert: orJs('publicKeyConvert', (pub, compressed) => lib.publicKeyConvert(pub, compressed, buffer)),
    publicKeyTweakAdd: orJs('publicKeyTweakAdd', (pub, tweak, compressed) => lib.publicKeyTweakAdd(pub, tweak, compressed, buffer)),
    // 5.x throws for a length other than 33 or 65, where 3.5 answers false.
    publicKeyVerify: orJs('publicKeyVerify', (pub) => (pub.length === 33 || pub.length === 65) && lib.publicKeyVerify(pub)),
    sign: (msg, priv, noncefn, data) => {
      // A caller's own nonce function has no counterpart in the binding's call.
      if (noncefn !== null) return jsInternals.sign(msg, priv, noncefn, data);
      return nativeSign(msg, priv, noncefn, data);
    },
    verify: orJs('verify', (msg, sig, pub) => {
      secpCounters.nativeVerifies++;
      return lib.ecdsaVerify(sig, msg, pub);
    }),
  };
}

const jsVerify = jsBackend.verify;
jsBackend.verify = (...args: any[]) => {
  secpCounters.jsVerifies++;
  return jsVerify(...args);
};

const binding = loadBinding();
const nativeBackend: Internals | null = binding ? wrap(nativeInternals(binding)) : null;

let active: SecpBackendName = 'js';

/** Which implementation bcoin's signature checks and signing run on now. */
export function secpBackend(): SecpBackendName {
  return active;
}

/** True where the libsecp256k1 binding loaded (and CLOUDCOIN_SECP=js did not keep it out). */
export const nativeSecpAvailable = nativeBackend !== null;

/** Puts bcoin's curve operations on `name`; 'libsecp256k1' where the binding did not load stays on JS. */
export function useSecpBackend(name: SecpBackendName): SecpBackendName {
  const chosen = name === 'libsecp256k1' && nativeBackend ? nativeBackend : jsBackend;
  Object.assign(backend, chosen);
  active = chosen === nativeBackend ? 'libsecp256k1' : 'js';
  return active;
}

useSecpBackend('libsecp256k1');
