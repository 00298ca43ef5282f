/**
 * Worker thread body for SectorSealer: seals and erasure-codes sectors off the
 * main thread. Receives the data and ids keys once (workerData), then one
 * message per sector; the plaintext buffer is transferred in and back out, the
 * shards are transferred out as one buffer.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { sealSector, shardSector } from './sector.js';

const keys = { data: Buffer.from(workerData.data), ids: Buffer.from(workerData.ids) };

parentPort!.on('message', (m: { seq: number; plain: ArrayBuffer; length: number; chunkIds: string[]; k: number; n: number }) => {
  try {
    const { id, parts, size } = sealSector(keys, Buffer.from(m.plain, 0, m.length), m.chunkIds);
    const { ids, shards } = shardSector(parts, m.k, m.n);
    const all = shards[0].buffer as ArrayBuffer;
    const offsets = shards.map((s) => s.byteOffset);
    parentPort!.postMessage({ seq: m.seq, id, size, ids, all, offsets, shardLength: shards[0].length, plain: m.plain }, [all, m.plain]);
  } catch (err: any) {
    parentPort!.postMessage({ seq: m.seq, error: String(err?.message ?? err), plain: m.plain }, [m.plain]);
  }
});
