/**
 * Argon2id (RFC 9106, version 0x13) for passphrases, from one of two
 * implementations behind one interface, both held by one conformance suite
 * (test/argon2.test.ts) to the reference implementation's vectors:
 *
 * - **native**: the Rust `argon2` crate through @node-rs/argon2's prebuilt
 *   N-API binding (linux, macOS, Windows, FreeBSD, Android; no compiler
 *   needed). It fills the lanes on threads of its own, off the event loop:
 *   RFC 9106's second recommended setting (64 MiB, 3 passes, 4 lanes) takes
 *   ~75 ms here, ~140 ms of CPU. Null where the binding does not load.
 * - **portable**: @noble/hashes' argon2idAsync, pure JavaScript, one lane
 *   after another on the calling thread, yielding to the event loop: ~1.3 s
 *   for the same, so a key made on one machine opens on any other.
 *
 * https://www.rfc-editor.org/rfc/rfc9106
 */
import { createRequire } from 'node:module';
import { argon2idAsync } from '@noble/hashes/argon2.js';

/** Argon2 costs: `m` memory in KiB, `t` passes over it, `p` lanes. */
export interface Argon2Params {
  m: number;
  t: number;
  p: number;
}

export interface Argon2Backend {
  readonly name: string;
  /** Argon2id of `password` under `salt`, `dkLen` bytes; inputs are checked by `argon2id`. */
  derive(password: Uint8Array, salt: Uint8Array, params: Argon2Params, dkLen: number): Promise<Buffer>;
}

/** Bounds a key file's parameters must keep, so that a crafted one cannot demand unbounded memory or time. */
export const ARGON2_LIMITS = { mMax: 2 ** 20, tMax: 32, pMax: 16 } as const;

/** The part of @node-rs/argon2's API used here. */
interface _NodeRsArgon2 {
  hashRaw(password: Uint8Array, options: { salt: Uint8Array; memoryCost: number; timeCost: number; parallelism: number; outputLen: number; algorithm: number; version: number }): Promise<Buffer>;
}

/** @node-rs/argon2's `Algorithm.Argon2id` and `Version.V0x13`, const enums its types do not let us import. */
const _ARGON2ID = 2;
const _V0X13 = 1;

function _loadNative(): Argon2Backend | null {
  let lib: _NodeRsArgon2;
  try {
    lib = createRequire(import.meta.url)('@node-rs/argon2') as _NodeRsArgon2;
  } catch {
    return null;
  }
  return {
    name: 'native',
    derive: (password, salt, { m, t, p }, dkLen) =>
      lib.hashRaw(password, { salt, memoryCost: m, timeCost: t, parallelism: p, outputLen: dkLen, algorithm: _ARGON2ID, version: _V0X13 }),
  };
}

export const nativeArgon2: Argon2Backend | null = _loadNative();

export const portableArgon2: Argon2Backend = {
  name: 'portable',
  async derive(password, salt, { m, t, p }, dkLen) {
    return Buffer.from(await argon2idAsync(password, salt, { m, t, p, dkLen, maxmem: m * 1024 + (1 << 20) }));
  },
};

/** Throws RangeError unless `params` are integers within RFC 9106's rules and ARGON2_LIMITS. */
export function checkArgon2Params(params: Argon2Params): void {
  const { m, t, p } = params;
  const int = (v: unknown, lo: number, hi: number) => Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi;
  if (!int(p, 1, ARGON2_LIMITS.pMax)) throw new RangeError(`argon2 p must be an integer in [1, ${ARGON2_LIMITS.pMax}], got ${p}`);
  if (!int(m, 8 * p, ARGON2_LIMITS.mMax)) throw new RangeError(`argon2 m must be an integer number of KiB in [8p, 2^20], got ${m}`);
  if (!int(t, 1, ARGON2_LIMITS.tMax)) throw new RangeError(`argon2 t must be an integer in [1, ${ARGON2_LIMITS.tMax}], got ${t}`);
}

/**
 * Argon2id of `password` under `salt` (at least 8 bytes), `dkLen` bytes, on
 * `backend` (the native one where it loads).
 * @example
 * const key = await argon2id(Buffer.from('passphrase'), randomBytes(32), { m: 65536, t: 3, p: 4 });
 */
export function argon2id(password: Uint8Array, salt: Uint8Array, params: Argon2Params, dkLen = 32, backend: Argon2Backend = nativeArgon2 ?? portableArgon2): Promise<Buffer> {
  if (!(password instanceof Uint8Array)) throw new TypeError('password must be a Uint8Array');
  if (!(salt instanceof Uint8Array) || salt.length < 8) throw new RangeError('salt must be a Uint8Array of at least 8 bytes');
  if (!Number.isInteger(dkLen) || dkLen < 4 || dkLen > 1024) throw new RangeError(`dkLen must be an integer in [4, 1024], got ${dkLen}`);
  checkArgon2Params(params);
  return backend.derive(password, salt, params, dkLen);
}
