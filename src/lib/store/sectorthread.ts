/**
 * Worker thread body for SectorWorker: seals and erasure-codes sectors for push,
 * rebuilds and decrypts them for pull, off the main thread. Receives the data
 * and ids keys once (workerData), then one message per sector. Buffers are
 * transferred, not copied: the push plaintext buffer goes in and comes back,
 * shards and plaintexts come out.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { decodeShards } from './erasure.js';
import { openSector, sealSector, shardSector } from './sector.js';

const keys = { data: Buffer.from(workerData.data), ids: Buffer.from(workerData.ids) };

function _seal(m: { plain: ArrayBuffer; length: number; chunkIds: string[]; k: number; n: number }): [object, ArrayBuffer[]] {
  const { id, parts, size } = sealSector(keys, Buffer.from(m.plain, 0, m.length), m.chunkIds);
  const { ids, shards } = shardSector(parts, m.k, m.n);
  const all = shards[0].buffer as ArrayBuffer;
  return [{ id, size, ids, all, offsets: shards.map((s) => s.byteOffset), shardLength: shards[0].length, plain: m.plain }, [all, m.plain]];
}

function _open(m: { id: string; k: number; size: number; shards: (Uint8Array | null)[] }): [object, ArrayBuffer[]] {
  const sealed = decodeShards(m.shards, m.k, m.size);
  const plain = openSector(keys, m.id, sealed);
  // Hand over a buffer of its own: a view into a larger or pooled one cannot be transferred.
  let own = plain;
  if (plain.byteOffset !== 0 || plain.buffer.byteLength !== plain.length) {
    own = Buffer.alloc(plain.length);
    plain.copy(own);
  }
  return [{ plain: own.buffer }, [own.buffer as ArrayBuffer]];
}

parentPort!.on('message', (m: any) => {
  try {
    const [reply, transfer] = m.op === 'seal' ? _seal(m) : _open(m);
    parentPort!.postMessage({ seq: m.seq, ...reply }, transfer);
  } catch (err: any) {
    // A CloudCoinError's code travels with the message so the main thread can rebuild it.
    parentPort!.postMessage({ seq: m.seq, error: String(err?.message ?? err), code: err?.code, exitCode: err?.exitCode, plain: m.plain }, m.plain ? [m.plain] : []);
  }
});
