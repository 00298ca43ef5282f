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
  REQUEST_DOMAINS,
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
interface VectorFile {
  domain: string;
  secretKey: string;
  publicKey: string;
  vectors: RequestVector[];
}
const readVectors = (name: string) => JSON.parse(readFileSync(new URL(`./vectors/${name}`, import.meta.url), 'utf8')) as VectorFile;
const file = readVectors('server-request.json');
const fileV2 = readVectors('server-request-v2.json');

/** The layouts of docs/server.md, written out field by field: version 1, and version 2 with its two fields after the nonce. */
function documentedLayout(f: SignedFields, version: 1 | 2 = 1): Buffer {
  const ts = Buffer.alloc(8);
  ts.writeBigUInt64BE(BigInt(f.timestamp));
  const segment = Buffer.alloc(4);
  segment.writeUInt32BE(f.segment ?? 0xffffffff);
  const range = Buffer.from(f.range ?? '', 'latin1');
  return Buffer.concat([
    Buffer.from(f.contractId, 'hex'),
    f.sectorId === null ? Buffer.alloc(32) : Buffer.from(f.sectorId, 'hex'),
    Buffer.from([f.operation.length]),
    Buffer.from(f.operation, 'ascii'),
    Buffer.from(f.bodySha256, 'hex'),
    ts,
    Buffer.from(f.nonce, 'hex'),
    ...(version === 2 ? [segment, Buffer.from([range.length]), range] : []),
  ]);
}

test('golden vectors, version 1: message bytes, digest, deterministic signature', (t) => {
  t.is(file.domain, REQUEST_DOMAINS[1]);
  const sk = Buffer.from(file.secretKey, 'hex');
  t.is(Buffer.from(publicKeyOf(sk)).toString('hex'), file.publicKey);
  for (const v of file.vectors) {
    const msg = requestMessage(v.fields, 1);
    t.is(Buffer.from(msg).toString('hex'), v.message);
    t.is(documentedLayout(v.fields).toString('hex'), v.message);
    t.is(Buffer.from(signingDigest(REQUEST_DOMAINS[1], msg)).toString('hex'), v.digest);
    t.is(Buffer.from(sign(REQUEST_DOMAINS[1], msg, sk)).toString('hex'), v.signature);
    t.true(verify(REQUEST_DOMAINS[1], msg, Buffer.from(v.signature, 'hex'), Buffer.from(file.publicKey, 'hex')));
    t.false(verify(REQUEST_DOMAINS[2], msg, Buffer.from(v.signature, 'hex'), Buffer.from(file.publicKey, 'hex')), 'a version 1 signature is no version 2 one');
  }
  t.throws(() => requestMessage({ ...file.vectors[0].fields, range: 'bytes=0-1' }, 1), { instanceOf: RangeError, message: /version 1/ });
});

test('golden vectors, version 2 (Range and segment signed): message bytes, digest, deterministic signature; signRequest signs them verifiably', (t) => {
  t.is(fileV2.domain, REQUEST_DOMAINS[2]);
  const sk = Buffer.from(fileV2.secretKey, 'hex');
  t.is(Buffer.from(publicKeyOf(sk)).toString('hex'), fileV2.publicKey);
  t.true(fileV2.vectors.some((v) => v.fields.range) && fileV2.vectors.some((v) => v.fields.segment !== null), 'the vectors sign a range and a segment');
  for (const v of fileV2.vectors) {
    const msg = requestMessage(v.fields);
    t.is(Buffer.from(msg).toString('hex'), v.message);
    t.is(documentedLayout(v.fields, 2).toString('hex'), v.message);
    t.is(Buffer.from(signingDigest(REQUEST_DOMAINS[2], msg)).toString('hex'), v.digest);
    t.is(Buffer.from(sign(REQUEST_DOMAINS[2], msg, sk)).toString('hex'), v.signature);
    t.true(verify(REQUEST_DOMAINS[2], msg, Buffer.from(v.signature, 'hex'), Buffer.from(fileV2.publicKey, 'hex')));
    // Requests are signed with a random nonce (signRandomized): not these bytes, but as valid.
    const headers = signRequest(v.fields, sk);
    t.is(headers[HEADER.version], '2');
    t.not(headers[HEADER.signature], v.signature);
    t.true(verify(REQUEST_DOMAINS[2], msg, Buffer.from(headers[HEADER.signature], 'hex'), Buffer.from(fileV2.publicKey, 'hex')));
  }
});

test('a version 2 signature fails for any other Range or segment; version 1 headers still parse and verify', (t) => {
  const sk = new Uint8Array(32).fill(9);
  const get = { contractId: 'aa'.repeat(32), sectorId: 'bb'.repeat(32), operation: 'GET' as const, range: 'bytes=0-99', segment: null };
  const ok = (h: Record<string, string>, target: Parameters<typeof parseAuthHeaders>[1]) => {
    const p = parseAuthHeaders(h, target);
    return typeof p === 'object' && p !== null && verifyAuth(p);
  };
  const signedGet = signRequest({ ...get, bodySha256: EMPTY_SHA256 }, sk);
  t.true(ok(signedGet, get));
  for (const range of ['bytes=0-100', 'bytes=1-99', 'bytes=-100', '', 'bytes=0-99 ']) t.false(ok(signedGet, { ...get, range }), JSON.stringify(range));
  const proof = { ...get, operation: 'PROOF' as const, range: '', segment: 7 };
  const signedProof = signRequest({ ...proof, bodySha256: EMPTY_SHA256 }, sk);
  t.true(ok(signedProof, proof));
  for (const segment of [8, 0, null]) t.false(ok(signedProof, { ...proof, segment }), String(segment));
  t.false(ok({ ...signedProof, [HEADER.version]: '1' }, proof), 'nor as version 1');

  const list = { contractId: 'aa'.repeat(32), sectorId: null, operation: 'LIST' as const };
  const fields = { ...list, bodySha256: EMPTY_SHA256, timestamp: Date.now(), nonce: '00'.repeat(16) };
  const v1 = signRequest(fields, sk);
  v1[HEADER.signature] = Buffer.from(sign(REQUEST_DOMAINS[1], requestMessage(fields, 1), sk)).toString('hex');
  delete v1[HEADER.version];
  const parsed = parseAuthHeaders(v1, list);
  t.true(typeof parsed === 'object' && parsed !== null && parsed.version === 1 && verifyAuth(parsed), 'version 1 is what a request without the version header is');
  t.regex(parseAuthHeaders({ ...v1, [HEADER.version]: '3' }, list) as string, /1 or 2/);
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

test('nonce cache holds at most its cap, refusing new nonces until the oldest expire', (t) => {
  const cache = new NonceCache(1000, 3);
  t.true(cache.remember('k', 'a', 0));
  for (const n of ['b', 'c']) t.true(cache.remember('k', n, 500));
  t.is(cache.fullFor(600), 1400, 'full until the first nonce expires');
  t.false(cache.remember('k', 'd', 600), 'no room');
  t.false(cache.has('k', 'd', 600));
  t.is(cache.size, 3);
  t.true(cache.has('k', 'a', 1999), 'nothing is forgotten early');
  t.is(cache.fullFor(2000), 0);
  t.true(cache.remember('k', 'd', 2000));
  t.is(cache.size, 3);
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

test('the rate limiter tracks at most maxKeys keys, forgetting full buckets first, then the least recently used', (t) => {
  let now = 0;
  const limiter = new RateLimiter({ perSecond: 1, burst: 10, maxKeys: 100 }, () => now);
  t.is(limiter.take('busy', 10), 0);
  t.is(limiter.wait('stranger'), 0);
  t.is(limiter.size, 1, 'asking how long to wait stores nothing');
  for (let i = 0; i < 10_000; i++) {
    limiter.take(`fresh-${i}`);
    if (i % 50 === 0) t.is(limiter.take('busy'), 1, 'a key in use keeps its empty bucket');
    t.true(limiter.size <= 100);
  }
  now = 10_000;
  t.is(limiter.take('busy', 10), 0, 'and refills as before');
});

test('caching authority: ids nobody holds fill their own bounded map and never flush a known contract', async (t) => {
  let calls = 0;
  const rec: ServedContract = { contractId: 'aa'.repeat(32), renterKey: `02${'11'.repeat(32)}`, sizeBytes: 10, state: 'active' };
  const cache = new CachingAuthority({ lookup: async (id: string) => (calls++, id === rec.contractId ? rec : null) }, { maxEntries: 5, maxUnknown: 100 });
  await cache.lookup(rec.contractId);
  for (let i = 0; i < 1000; i++) t.is(await cache.lookup(i.toString(16).padStart(64, '0')), null);
  t.like(cache.stats(), { entries: 1, unknown: 100, maxUnknown: 100 });
  const before = calls;
  t.deepEqual(await cache.lookup(rec.contractId), rec);
  t.is(calls, before, 'the known contract is still cached');
});

test('caching authority: at most maxLookups questions at once; a known contract is answered stale meanwhile', async (t) => {
  let now = 0;
  const release: (() => void)[] = [];
  const rec: ServedContract = { contractId: 'aa'.repeat(32), renterKey: `02${'11'.repeat(32)}`, sizeBytes: 10, state: 'active' };
  let slow = false;
  const inner = {
    lookup: async (id: string) => {
      if (slow) await new Promise<void>((r) => release.push(r));
      return id === rec.contractId ? rec : null;
    },
  };
  const cache = new CachingAuthority(inner, { maxLookups: 2, ttlMs: 10 }, () => now);
  await cache.lookup(rec.contractId);
  slow = true;
  now = 100;
  const pending = [cache.lookup('01'.repeat(32)), cache.lookup('02'.repeat(32))];
  await t.throwsAsync(cache.lookup('03'.repeat(32)), { instanceOf: AuthorityUnavailableError, message: /2 contract lookups/ });
  t.deepEqual(await cache.lookup(rec.contractId), rec, 'stale rather than refused');
  t.is(cache.stats().lookupsInFlight, 2);
  t.is(cache.stats().unreachableSince, null, 'a busy authority is not an unreachable one');
  for (const r of release) r();
  t.deepEqual(await Promise.all(pending), [null, null]);
  t.is(cache.stats().lookupsInFlight, 0);
});
