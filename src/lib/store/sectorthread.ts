/**
 * Worker thread body for SectorWorker: seals and erasure-codes sectors for push;
 * for pull rebuilds and decrypts sectors, checks the chunks that will be read
 * from them, and hashes shards (when asked, or when a sector does not decrypt,
 * to find which shard was wrong); all off the main thread. Receives the data
 * and ids keys once ('keys', the first message: the thread starts while they
 * are still being derived), then one message per sector. Buffers are
 * transferred, not copied: the push plaintext buffer goes in and comes back,
 * shards and plaintexts come out, shard buffers the main thread is done with
 * come back ('recycle') to be filled again, and a pull lends the plaintext
 * buffers of sectors it has written out for the next ones: fresh multi-MiB
 * buffers cost a page fault per 4 KiB, which on the CI machines is slower
 * than the sealing.
 */
import { createHmac } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { BufferPool } from '../buffer-pool.js';
import { shardsBytes } from './erasure.js';
import { SECTOR_MAX, openShards, sealToShards, shardId } from './sector.js';

const keys = { data: Buffer.alloc(0), ids: Buffer.alloc(0) };
/** Shard buffers returned by the main thread; a few suffice, as few sectors are in flight. */
const _shardBuffers = new BufferPool({ make: (size) => Buffer.alloc(size), keep: 8 });

function _seal(m: { plain: ArrayBuffer; length: number; chunkIds: string[]; k: number; n: number }): [object, ArrayBuffer[]] {
  // Sized for the largest sector, so that any later sector fits when it comes back.
  const into = _shardBuffers.take(shardsBytes(SECTOR_MAX, m.k, m.n))!;
  const { id, size, ids, shards } = sealToShards(keys, Buffer.from(m.plain, 0, m.length), m.chunkIds, m.k, m.n, into);
  const all = shards[0].buffer as ArrayBuffer;
  return [{ id, size, ids, all, offsets: shards.map((s) => s.byteOffset), shardLength: shards[0].length, plain: m.plain }, [all, m.plain]];
}

function _open(m: {
  id: string;
  k: number;
  size: number;
  shards: (Uint8Array | null)[];
  shardIds: string[] | null;
  chunks: [string, number, number][];
  plainInto: ArrayBuffer | null;
}): [object, ArrayBuffer[]] {
  let plain: Buffer;
  try {
    plain = openShards(keys, m.id, m.shards, m.k, m.size, m.plainInto ? Buffer.from(m.plainInto) : undefined);
  } catch (err) {
    // Shards not checked before: the ones whose hash is not their id are whose bytes were wrong.
    const wrong = m.shardIds ? m.shards.flatMap((s, i) => (s !== null && shardId(s) !== m.shardIds![i] ? [i] : [])) : [];
    if (wrong.length === 0) throw err;
    const spare = _spare(m.shards);
    return [{ wrong, spare }, spare];
  }
  const bad = m.chunks.filter(([id, off, len]) => off + len > plain.length || createHmac('sha256', keys.ids).update(plain.subarray(off, off + len)).digest('hex') !== id).map((c) => c[0]);
  // Hand over a buffer of its own (the one lent, or a copy): a view into a pooled one cannot be transferred.
  let own = plain;
  if (plain.byteOffset !== 0 || (plain.buffer !== m.plainInto && plain.buffer.byteLength !== plain.length)) {
    own = Buffer.alloc(plain.length);
    plain.copy(own);
  }
  const spare = _spare(m.shards);
  return [{ plain: own.buffer, plainLength: own.length, bad, spare }, [own.buffer as ArrayBuffer, ...spare]];
}

/** The shards' memory, done with once a sector is opened: it goes back for the next fetches. */
function _spare(shards: (Uint8Array | null)[]): ArrayBuffer[] {
  return [...new Set(shards.flatMap((s) => (s ? [s.buffer as ArrayBuffer] : [])))];
}

/** A fetched shard's id, and the shard back (a view of the moved buffer travels as one). */
function _hash(m: { data: Uint8Array }): [object, ArrayBuffer[]] {
  return [{ hex: shardId(m.data), data: m.data }, [m.data.buffer as ArrayBuffer]];
}

const _ops: Record<string, (m: any) => [object, ArrayBuffer[]]> = { seal: _seal, open: _open, hash: _hash };

parentPort!.on('message', (m: any) => {
  if (m.op === 'keys') {
    keys.data = Buffer.from(m.data);
    keys.ids = Buffer.from(m.ids);
    return;
  }
  if (m.op === 'recycle') {
    _shardBuffers.give(Buffer.from(m.buffer));
    return;
  }
  try {
    const [reply, transfer] = _ops[m.op](m);
    parentPort!.postMessage({ seq: m.seq, ...reply }, transfer);
  } catch (err: any) {
    // A CloudCoinError's code travels with the message so the main thread can rebuild it.
    parentPort!.postMessage({ seq: m.seq, error: String(err?.message ?? err), code: err?.code, exitCode: err?.exitCode, plain: m.plain }, m.plain ? [m.plain] : []);
  }
});
