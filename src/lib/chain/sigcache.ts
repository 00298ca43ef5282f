/**
 * The signature cache, as Bitcoin Core keeps one: a transaction's signatures
 * are checked once when the mempool takes it, and again when a block carrying
 * it arrives; the second check is a lookup.
 *
 * An entry is sha256(sighash || sig length || sig || key) of a check that
 * passed: only a triple that verified can hit, and the same triple always
 * verifies (the result depends on nothing else; script flags are applied
 * before the curve is asked). The length keeps a byte moved from the end of
 * the signature to the front of the key from naming the same entry. Entries
 * are stored only while the mempool checks a transaction, so blocks full of
 * transactions never relayed cannot push the relayed ones out; a block's hit
 * removes its entry, which is not needed again once the block is in.
 *
 * bcoin ships a SigCache class but 1.0.2 never calls it; this one wraps
 * bcrypto's `verifyDER`, the call every CHECKSIG and CHECKMULTISIG makes.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

type VerifyDER = (msg: Buffer, sig: Buffer, key: Buffer) => boolean;

/** ~130 bytes an entry, about 13 MB: under half the 32 MB Bitcoin Core gives its cache by default. */
export const SIGNATURE_CACHE_ENTRIES = 100_000;

export class SignatureCache {
  /** Entries in insertion order: the oldest is the first to go when full. */
  private readonly entries = new Set<string>();
  capacity: number;
  hits = 0;
  stores = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get size(): number {
    return this.entries.size;
  }

  static id(msg: Buffer, sig: Buffer, key: Buffer): string {
    const length = Buffer.alloc(4);
    length.writeUInt32LE(sig.length);
    return createHash('sha256').update(msg).update(length).update(sig).update(key).digest('base64');
  }

  /** `verify`'s answer, from the cache where a passing check of the same triple is held. */
  verify(verify: VerifyDER, msg: Buffer, sig: Buffer, key: Buffer, store: boolean): boolean {
    if (this.capacity === 0 || !Buffer.isBuffer(msg) || !Buffer.isBuffer(sig) || !Buffer.isBuffer(key)) return verify(msg, sig, key);
    if (!store && this.entries.size === 0) return verify(msg, sig, key);
    const id = SignatureCache.id(msg, sig, key);
    if (this.entries.has(id)) {
      this.hits++;
      if (!store) this.entries.delete(id);
      return true;
    }
    const valid = verify(msg, sig, key);
    if (valid && store) this.add(id);
    return valid;
  }

  clear(): void {
    this.entries.clear();
  }

  private add(id: string): void {
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.values().next().value!);
    this.entries.add(id);
    this.stores++;
  }
}

export const signatureCache = new SignatureCache(SIGNATURE_CACHE_ENTRIES);

const requireFromBcoin = createRequire(createRequire(import.meta.url).resolve('bcoin'));
const secp256k1: { verifyDER: VerifyDER } = requireFromBcoin('bcrypto/lib/secp256k1');
const Mempool = requireFromBcoin('./mempool/mempool.js');
const TX = requireFromBcoin('./primitives/tx.js');

/** Transactions the mempool is checking now; their checks may store entries. */
const mempoolChecks = new WeakSet<object>();
let storing = false;

const verifyDER = secp256k1.verifyDER;
secp256k1.verifyDER = (msg, sig, key) => signatureCache.verify(verifyDER, msg, sig, key, storing);

const verifyInputs = Mempool.prototype.verifyInputs;
Mempool.prototype.verifyInputs = async function (this: unknown, tx: object, ...rest: unknown[]): Promise<unknown> {
  mempoolChecks.add(tx);
  try {
    return await verifyInputs.call(this, tx, ...rest);
  } finally {
    mempoolChecks.delete(tx);
  }
};

// The script checks themselves run later (bcoin's in-process worker pool defers
// them with setImmediate) but synchronously within TX#check: the flag is set there.
const check = TX.prototype.check;
TX.prototype.check = function (this: object, ...args: unknown[]): unknown {
  if (!mempoolChecks.has(this)) return check.apply(this, args);
  storing = true;
  try {
    return check.apply(this, args);
  } finally {
    storing = false;
  }
};
