/**
 * SnapshotReader's plaintext memory on real local-directory backends and the
 * real sector worker: a sector's buffer is lent again for a later sector only
 * once every chunk handed out from it is released, so bytes a consumer still
 * holds are never overwritten, and released ones are reused.
 */
import test, { type ExecutionContext } from 'ava';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalBackend } from '../src/lib/store/backends/local.js';
import { StoreKeys } from '../src/lib/store/keys.js';
import type { ChunkRef } from '../src/lib/store/manifest.js';
import { SnapshotReader } from '../src/lib/store/reader.js';
import { type SectorRecord, sealToShards } from '../src/lib/store/sector.js';
import { SectorWorker } from '../src/lib/store/sectorworker.js';
import { ShardIO } from '../src/lib/store/shards.js';

const CHUNK = 256 * 1024;

/** `count` sectors of four chunks each, their shards stored 2-of-3 on three local directories. */
async function stored(keys: StoreKeys, backends: LocalBackend[], count: number) {
  const sectors: SectorRecord[] = [];
  const chunks: ChunkRef[][] = [];
  const plains: Buffer[] = [];
  for (let s = 0; s < count; s++) {
    const plain = randomBytes(4 * CHUNK);
    const ids = [0, 1, 2, 3].map((c) => createHmac('sha256', keys.ids).update(plain.subarray(c * CHUNK, (c + 1) * CHUNK)).digest('hex'));
    const sealed = sealToShards(keys, plain, ids, 2, 3);
    for (let i = 0; i < 3; i++) await backends[i].put(sealed.ids[i], sealed.shards[i]);
    sectors.push({ id: sealed.id, size: sealed.size, k: 2, shards: sealed.ids.map((sid, i) => [sid, backends[i].name]) });
    chunks.push(ids.map((id, c) => [id, sealed.id, c * CHUNK, CHUNK]));
    plains.push(plain);
  }
  return { sectors, chunks, plains };
}

/** A reader over `count` stored sectors with a cache of one, so that every sector leaves it as the next comes in. */
async function reader(t: ExecutionContext, count: number) {
  const base = await mkdtemp(join(tmpdir(), 'cc-reader-'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const keys = new StoreKeys(randomBytes(32));
  const backends = [0, 1, 2].map((i) => new LocalBackend(`host${i}`, join(base, `host${i}`), { sync: false }));
  const worker = new SectorWorker(keys);
  t.teardown(() => worker.close());
  const { sectors, chunks, plains } = await stored(keys, backends, count);
  return { chunks, plains, reader: new SnapshotReader(keys, new ShardIO(backends), worker, sectors, chunks.flat(), { capacity: 1, fetches: 1 }) };
}

test('chunks still held keep their bytes while released sectors lend their memory to later ones', async (t) => {
  const { chunks, plains, reader: r } = await reader(t, 8);

  const held: Buffer[] = [];
  for await (const chunk of r.content(chunks[0])) held.push(chunk);

  const released: Buffer[] = [];
  let i = 0;
  for await (const chunk of r.content(chunks.slice(1).flat())) {
    const s = 1 + Math.floor(i / 4);
    const c = i % 4;
    t.true(chunk.equals(plains[s].subarray(c * CHUNK, (c + 1) * CHUNK)), `sector ${s} chunk ${c}`);
    released.push(chunk);
    r.release(chunk);
    i++;
  }
  t.is(i, 7 * 4);
  // A released sector's memory went back to the worker for a later one, which detaches it here.
  t.true(released.some((c) => c.buffer.byteLength === 0), 'some released memory was reused');
  t.true(Buffer.concat(held).equals(plains[0]), 'chunks never released are untouched');
  t.true(held.every((c) => c.buffer.byteLength > 0));
});

test('a consumer that never releases gets right bytes; nothing is reused under it', async (t) => {
  const { chunks, plains, reader: r } = await reader(t, 5);
  const all: Buffer[] = [];
  for await (const chunk of r.content(chunks.flat())) all.push(chunk);
  t.true(Buffer.concat(all).equals(Buffer.concat(plains)));
});
