import test from 'ava';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { publicKeyOf, sign, signingDigest, verify } from '../src/lib/crypto/sig.js';
import { AuthorityUnavailableError, CachingAuthority, parseServedContract, type ServedContract } from '../src/lib/server/index.js';
import type { ContractInfo } from '../src/lib/negotiator/entries.js';
import { parseRange } from '../src/lib/server/range.js';
import { RateLimiter } from '../src/lib/server/rate-limit.js';
import {
  EMPTY_SHA256,
  HEADER,
  NonceCache,
  parseAuthHeaders,
  REQUEST_DOMAIN,
  requestMessage,
  signRequest,
  verifyAuth,
  type SignedFields,
} from '../src/lib/server/request-auth.js';

interface RequestVector {
  fields: SignedFields;
  message: string;
  digest: string;
  signature: string;
}
const file = JSON.parse(readFileSync(new URL('./vectors/server-request.json', import.meta.url), 'utf8')) as {
  domain: string;
  secretKey: string;
  publicKey: string;
  vectors: RequestVector[];
};

/** The layout of docs/server.md, written out field by field. */
function documentedLayout(f: SignedFields): Buffer {
  const ts = Buffer.alloc(8);
  ts.writeBigUInt64BE(BigInt(f.timestamp));
  return Buffer.concat([
    Buffer.from(f.contractId, 'hex'),
    f.sectorId === null ? Buffer.alloc(32) : Buffer.from(f.sectorId, 'hex'),
    Buffer.from([f.operation.length]),
    Buffer.from(f.operation, 'ascii'),
    Buffer.from(f.bodySha256, 'hex'),
    ts,
    Buffer.from(f.nonce, 'hex'),
  ]);
}

test('golden vectors: message bytes, digest, deterministic signature; signRequest signs them verifiably', (t) => {
  t.is(file.domain, REQUEST_DOMAIN);
  const sk = Buffer.from(file.secretKey, 'hex');
  t.is(Buffer.from(publicKeyOf(sk)).toString('hex'), file.publicKey);
  for (const v of file.vectors) {
    const msg = requestMessage(v.fields);
    t.is(Buffer.from(msg).toString('hex'), v.message);
    t.is(documentedLayout(v.fields).toString('hex'), v.message);
    t.is(Buffer.from(signingDigest(REQUEST_DOMAIN, msg)).toString('hex'), v.digest);
    t.is(Buffer.from(sign(REQUEST_DOMAIN, msg, sk)).toString('hex'), v.signature);
    t.true(verify(REQUEST_DOMAIN, msg, Buffer.from(v.signature, 'hex'), Buffer.from(file.publicKey, 'hex')));
    // Requests are signed with a random nonce (signRandomized): not these bytes, but as valid.
    const headers = signRequest(v.fields, sk);
    t.not(headers[HEADER.signature], v.signature);
    t.true(verify(REQUEST_DOMAIN, msg, Buffer.from(headers[HEADER.signature], 'hex'), Buffer.from(file.publicKey, 'hex')));
  }
});

test('headers round trip through parse and verify; any changed field fails', (t) => {
  const sk = new Uint8Array(32).fill(9);
  const target = { contractId: 'aa'.repeat(32), sectorId: 'bb'.repeat(32), operation: 'GET' as const };
  const headers = signRequest({ ...target, bodySha256: EMPTY_SHA256 }, sk);
  const parsed = parseAuthHeaders(headers, target);
  t.true(typeof parsed === 'object' && parsed !== null && verifyAuth(parsed));
  for (const other of [{ ...target, sectorId: 'cc'.repeat(32) }, { ...target, operation: 'DELETE' as const }, { ...target, contractId: 'dd'.repeat(32) }]) {
    const p = parseAuthHeaders(headers, other);
    t.false(typeof p === 'object' && p !== null && verifyAuth(p));
  }
  const later = parseAuthHeaders({ ...headers, [HEADER.timestamp]: String(Number(headers[HEADER.timestamp]) + 1) }, target);
  t.false(typeof later === 'object' && later !== null && verifyAuth(later));
  t.is(parseAuthHeaders({}, target), null);
  t.regex(parseAuthHeaders({ ...headers, [HEADER.nonce]: 'XYZ' }, target) as string, /nonce/);
  t.regex(parseAuthHeaders({ ...headers, [HEADER.key]: '04'.repeat(33) }, target) as string, /key/);
  t.throws(() => requestMessage({ ...target, bodySha256: EMPTY_SHA256, timestamp: 1, nonce: '00'.repeat(16), contractId: '../x' }), { instanceOf: RangeError, message: /contractId/ });
  t.is(EMPTY_SHA256, createHash('sha256').update('').digest('hex'));
});

test('nonce cache refuses replays within the window and forgets after it', (t) => {
  const cache = new NonceCache(1000);
  t.true(cache.remember('k', 'n1', 0));
  t.false(cache.remember('k', 'n1', 500));
  t.true(cache.remember('other-key', 'n1', 500), 'nonces are per key');
  t.false(cache.remember('k', 'n1', 1999));
  t.true(cache.remember('k', 'n2', 2001));
  t.is(cache.size, 2, 'the first entries expired and were pruned');
  t.throws(() => new NonceCache(0), { instanceOf: RangeError });
});

test('caching authority: TTL, negative TTL, single flight, stale-if-error', async (t) => {
  let now = 0;
  let calls = 0;
  let down = false;
  const rec: ServedContract = { contractId: 'aa'.repeat(32), renterKey: `02${'11'.repeat(32)}`, sizeBytes: 10, state: 'active' };
  const inner = {
    lookup: async (id: string) => {
      calls++;
      if (down) throw new AuthorityUnavailableError('down');
      return id === rec.contractId ? rec : null;
    },
  };
  const cache = new CachingAuthority(inner, { ttlMs: 100, negativeTtlMs: 10, staleIfErrorMs: 1000 }, () => now);
  t.deepEqual(await Promise.all([cache.lookup(rec.contractId), cache.lookup(rec.contractId)]), [rec, rec]);
  t.is(calls, 1, 'concurrent lookups share one call');
  now = 50;
  await cache.lookup(rec.contractId);
  t.is(calls, 1, 'fresh for the TTL');
  t.is(await cache.lookup('bb'.repeat(32)), null);
  now = 55;
  await cache.lookup('bb'.repeat(32));
  t.is(calls, 2, 'unknown is cached too');
  now = 70;
  await cache.lookup('bb'.repeat(32));
  t.is(calls, 3, 'but only for the negative TTL');
  down = true;
  now = 500;
  t.deepEqual(await cache.lookup(rec.contractId), rec, 'stale answer while the authority is down');
  t.is(cache.stats().staleAnswers, 1);
  t.is(cache.stats().lastError, 'down');
  t.is(cache.stats().unreachableSince, 500);
  await t.throwsAsync(cache.lookup('bb'.repeat(32)), { instanceOf: AuthorityUnavailableError }, 'unknown contracts are not guessed');
  now = 2000;
  await t.throwsAsync(cache.lookup(rec.contractId), { instanceOf: AuthorityUnavailableError }, 'stale for at most staleIfErrorMs');
});

test("the Negotiator's ContractInfo JSON is checked field by field", (t) => {
  const good: Partial<ContractInfo> & { extra: string } = {
    id: 'aa'.repeat(32),
    state: 'active',
    renterKey: `03${'11'.repeat(32)}`,
    hostKey: `02${'22'.repeat(32)}`,
    size: 4096,
    endHeight: 100,
    price: 5,
    extra: 'ignored',
  };
  const expected: ServedContract = { contractId: 'aa'.repeat(32), renterKey: good.renterKey!, hostKey: good.hostKey!, sizeBytes: 4096, state: 'active', expiresAtHeight: 100 };
  t.deepEqual(parseServedContract(good, 'aa'.repeat(32)), expected, 'other fields are dropped');
  t.throws(() => parseServedContract(good, 'bb'.repeat(32)), { message: /asked for contract/ });
  t.throws(() => parseServedContract({ ...good, renterKey: 'zz' }, 'aa'.repeat(32)), { message: /renterKey/ });
  t.throws(() => parseServedContract({ ...good, size: -1 }, 'aa'.repeat(32)), { message: /size/ });
  t.throws(() => parseServedContract({ ...good, state: 'alive' }, 'aa'.repeat(32)), { message: /state/ });
  t.throws(() => parseServedContract({ ...good, endHeight: 1.5 }, 'aa'.repeat(32)), { message: /endHeight/ });
  t.throws(() => parseServedContract([], 'aa'.repeat(32)), { instanceOf: TypeError });
});

test('ranges and the rate limiter', (t) => {
  t.is(parseRange(undefined, 100), null);
  t.deepEqual(parseRange('bytes=0-9', 100), [0, 9]);
  t.deepEqual(parseRange('bytes=90-', 100), [90, 99]);
  t.deepEqual(parseRange('bytes=-10', 100), [90, 99]);
  t.deepEqual(parseRange('bytes=95-200', 100), [95, 99]);
  for (const bad of ['bytes=100-', 'bytes=5-4', 'bytes=0-1,3-4', 'items=0-1', 'bytes=-0', 'bytes=-']) t.is(parseRange(bad, 100), 'unsatisfiable', bad);
  let now = 0;
  const limiter = new RateLimiter({ perSecond: 2, burst: 2 }, () => now);
  t.is(limiter.take('a'), 0);
  t.is(limiter.take('a'), 0);
  t.is(limiter.take('a'), 1);
  t.is(limiter.take('b'), 0, 'per key');
  now = 500;
  t.is(limiter.take('a'), 0, 'refilled');
  now = 1500;
  t.is(limiter.take('a', 2), 0, 'a costly request takes several tokens');
  t.is(limiter.take('a', 2), 1);
  t.throws(() => limiter.take('a', 3), { instanceOf: RangeError });
});
