/**
 * The stored formats (docs/format.md), pinned by golden vectors and checked
 * against independent implementations (@noble/hashes, @noble/ciphers), plus the
 * pure history functions.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import v from './vectors/store-format.json' with { type: 'json' };
import { CloudCoinError } from '../src/lib/errors.js';
import { type SnapshotInfo, diffTrees, keptByPolicy } from '../src/lib/store/history.js';
import { StoreKeys } from '../src/lib/store/keys.js';
import { type ManifestHeader, type Snapshot, type TreeEntry, decodeBody, decodeHeader, encodeBody, encodeHeader, isManifestId, newManifestId } from '../src/lib/store/manifest.js';
import { openSector, openShards, sealSector, sealToShards, shardSector } from '../src/lib/store/sector.js';

const hex = (s: string) => Buffer.from(s, 'hex');
const keys = new StoreKeys(hex(v.master));
const header = v.manifest.header as ManifestHeader;

test('derived keys match HKDF-SHA256 from @noble/hashes (salt "cloudcoin-store-v1", info = purpose)', (t) => {
  const ref = (info: string, len = 32) => Buffer.from(hkdf(sha256, hex(v.master), Buffer.from('cloudcoin-store-v1'), Buffer.from(info), len)).toString('hex');
  t.deepEqual(v.keys, { data: ref('data'), manifest: ref('manifest'), ids: ref('ids'), gear: ref('gear'), fingerprint: ref('fingerprint', 8) });
  t.deepEqual({ data: keys.data.toString('hex'), manifest: keys.manifest.toString('hex'), ids: keys.ids.toString('hex'), gear: keys.gear.toString('hex'), fingerprint: keys.fingerprint }, v.keys);
});

test('chunk id is HMAC-SHA256(ids key, plaintext)', (t) => {
  t.is(Buffer.from(hmac(sha256, keys.ids, hex(v.chunk.plaintext))).toString('hex'), v.chunk.id);
});

test('sector golden vector: deterministic seal, opens with @noble/ciphers, same shard ids', (t) => {
  const { id, parts, size } = sealSector(keys, hex(v.sector.plaintext), v.sector.chunkIds);
  const sealed = Buffer.concat(parts);
  t.is(size, sealed.length);
  t.is(id, v.sector.id);
  t.is(sealed.toString('hex'), v.sector.sealed);
  t.is(sealed.subarray(0, 4).toString(), 'CCS1');
  const aad = Buffer.concat([Buffer.from('CCS1'), hex(id)]);
  const plain = xchacha20poly1305(keys.data, sealed.subarray(4, 28), aad).decrypt(sealed.subarray(28));
  t.is(Buffer.from(plain).toString('hex'), v.sector.plaintext);
  t.is(openSector(keys, id, sealed).toString('hex'), v.sector.plaintext);
  t.deepEqual(shardSector(sealed, v.sector.k, v.sector.n).ids, v.sector.shardIds);
  t.deepEqual(shardSector(parts, v.sector.k, v.sector.n).ids, v.sector.shardIds);
  const other = new StoreKeys(randomBytes(32));
  t.throws(() => openSector(other, id, sealed), { instanceOf: CloudCoinError, message: /does not decrypt/ });
  t.throws(() => openSector(keys, '00'.repeat(16), sealed), { instanceOf: CloudCoinError });
});

test('sealToShards writes the same shards as sealSector + shardSector, into a reused buffer too; openShards reads any k back', (t) => {
  t.deepEqual(sealToShards(keys, hex(v.sector.plaintext), v.sector.chunkIds, v.sector.k, v.sector.n).ids, v.sector.shardIds);
  // Sizes around the 64 KiB cipher pieces and shard boundaries, tiny sectors where the header straddles shards, several k/n.
  const cases: [number, number, number][] = [[1, 1, 1], [5, 2, 3], [100, 17, 20], [65_536 * 2 + 7, 2, 3], [300_001, 4, 6], [1_000_000, 3, 5]];
  let reused = Buffer.alloc(8 * 1024 * 1024, 0xa5);
  for (const [len, k, n] of cases) {
    const plain = randomBytes(len);
    const ids = [randomBytes(32).toString('hex')];
    const ref = sealSector(keys, plain, ids);
    const want = shardSector(ref.parts, k, n);
    for (const into of [undefined, reused]) {
      const got = sealToShards(keys, plain, ids, k, n, into);
      t.is(got.id, ref.id);
      t.is(got.size, ref.size);
      t.deepEqual(got.ids, want.ids, `len=${len} k=${k} n=${n} into=${into ? 'reused' : 'new'}`);
      t.true(got.shards.every((s, i) => s.equals(want.shards[i])));
    }
    // Drop the first n-k shards (data shards first, so decoding is needed when any are missing).
    const partial = want.shards.map((s, i) => (i < n - k ? null : s));
    t.true(openShards(keys, ref.id, partial, k, ref.size).equals(plain), `len=${len} k=${k} n=${n}`);
    t.true(openShards(keys, ref.id, want.shards, k, ref.size).equals(plain));
    const bad = want.shards.map((s) => Buffer.from(s));
    bad[0][bad[0].length - 1] ^= 1;
    if (ref.size > k * 1) t.throws(() => openShards(keys, ref.id, bad.map((s, i) => (i < k ? s : null)), k, ref.size), { instanceOf: CloudCoinError, message: /does not decrypt/ });
    reused = Buffer.alloc(8 * 1024 * 1024, 0x5a);
  }
});

test('manifest golden vector: header blob, body lines, id tag', (t) => {
  const blob = encodeHeader(keys, v.manifest.id, header, hex(v.manifest.nonce));
  t.is(blob.toString('hex'), v.manifest.blob);
  t.deepEqual(decodeHeader(keys, v.manifest.id, blob), header);
  const aad = Buffer.concat([Buffer.from('CCM1'), hex(v.manifest.id)]);
  const json = xchacha20poly1305(keys.manifest, blob.subarray(4, 28), aad).decrypt(blob.subarray(28));
  t.deepEqual(JSON.parse(Buffer.from(json).toString('utf8')), header);
  const body = decodeBody(v.manifest.id, Buffer.from(v.manifest.body));
  t.is(encodeBody(body.tree, body.sectors).toString('utf8'), v.manifest.body);
  t.is(body.tree.length, 4);
  t.is(body.sectors[0].id, v.sector.id);
  t.true(isManifestId(keys, v.manifest.id));
  t.is(v.manifest.id.slice(0, 32), v.manifest.r);
});

test('manifest ids are recognisable only with the key', (t) => {
  const id = newManifestId(keys);
  t.true(isManifestId(keys, id));
  t.false(isManifestId(new StoreKeys(randomBytes(32)), id));
  t.false(isManifestId(keys, randomBytes(32).toString('hex')));
  t.false(isManifestId(keys, 'xyz'));
});

test('a tampered header, or one served under another id, is refused', (t) => {
  const blob = hex(v.manifest.blob);
  const flipped = Buffer.from(blob);
  flipped[40] ^= 1;
  t.throws(() => decodeHeader(keys, v.manifest.id, flipped), { instanceOf: CloudCoinError, message: /does not decrypt/ });
  t.throws(() => decodeHeader(keys, newManifestId(keys), blob), { instanceOf: CloudCoinError, message: /does not decrypt/ });
  t.throws(() => decodeHeader(keys, v.manifest.id, blob.subarray(0, 20)), { instanceOf: CloudCoinError, message: /not a manifest/ });
});

test('headers and bodies with bad structure are refused with the reason', (t) => {
  const bad = (h: object, re: RegExp) => t.throws(() => encodeHeader(keys, v.manifest.id, { ...header, ...h } as ManifestHeader), { instanceOf: CloudCoinError, message: re });
  bad({ version: 2 }, /unsupported version 2/);
  bad({ time: 'yesterday' }, /bad time/);
  bad({ parent: 'abc' }, /bad parent/);
  bad({ body: { size: 5, chunks: [] } }, /chunks add up to 0, size is 5/);
  bad({ sectors: [] }, /body has a bad chunk reference/);
  const lines = v.manifest.body.split('\n');
  const file = JSON.parse(lines[1]);
  const body = (f: object) => Buffer.from([lines[0], JSON.stringify({ ...file, ...f }), ...lines.slice(2)].join('\n'));
  t.throws(() => decodeBody('x', body({ size: 1 })), { message: /chunks add up to 140, size is 1/ });
  t.throws(() => decodeBody('x', body({ chunks: [[file.chunks[0][0], 'ff'.repeat(16), 0, 140]] })), { message: /bad chunk reference/ });
  t.throws(() => decodeBody('x', body({ type: 'fifo' })), { message: /bad entry/ });
  t.throws(() => decodeBody('x', body({ mode: 0o170000 })), { message: /bad entry/ });
  t.throws(() => decodeBody('x', Buffer.from('{not json')), { message: /not JSON/ });
});

const snap = (id: string, time: string): SnapshotInfo => ({ id, time, hostname: 'h', source: '/s', tags: [], parent: null, files: 0, bytes: 0 });

test('forget policy: keep-last and keep-daily, and their union', (t) => {
  const snaps = [
    snap('a', '2026-11-20T08:00:00Z'),
    snap('b', '2026-11-20T20:00:00Z'),
    snap('c', '2026-11-21T09:00:00Z'),
    snap('d', '2026-11-23T07:00:00Z'),
    snap('e', '2026-11-23T22:00:00Z'),
  ];
  t.deepEqual([...keptByPolicy(snaps, { keepLast: 2 })].sort(), ['d', 'e']);
  t.deepEqual([...keptByPolicy(snaps, { keepDaily: 2 })].sort(), ['c', 'e']);
  t.deepEqual([...keptByPolicy(snaps, { keepDaily: 10 })].sort(), ['b', 'c', 'e']);
  t.deepEqual([...keptByPolicy(snaps, { keepLast: 1, keepDaily: 3 })].sort(), ['b', 'c', 'e']);
  t.deepEqual([...keptByPolicy(snaps, { keepLast: 0 })], []);
  t.is(keptByPolicy(snaps, {}).size, 5);
  t.throws(() => keptByPolicy(snaps, { keepLast: -1 }), { instanceOf: RangeError });
});

test('diff reports added, removed, modified (content) and metadata-only changes', (t) => {
  const f = (path: string, chunk: string, mode = 0o644, mtime = 1): TreeEntry => ({ path, type: 'file', mode, mtime, size: 1, chunks: [[chunk.repeat(64), 's', 0, 1]] });
  const s = (tree: TreeEntry[]): Snapshot => ({ id: 'x', header, tree, sectors: [] });
  const a = s([f('same', 'a'), f('content', 'b'), f('meta', 'c'), f('removed', 'd')]);
  const b = s([f('same', 'a'), f('content', 'e'), f('meta', 'c', 0o600), f('added', 'f')]);
  t.deepEqual(diffTrees(a, b), [
    { path: 'added', change: 'added' },
    { path: 'content', change: 'modified' },
    { path: 'meta', change: 'metadata' },
    { path: 'removed', change: 'removed' },
  ]);
});
