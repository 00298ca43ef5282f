/**
 * The store's push pipeline without disk or network, and the rate of the
 * node:crypto primitives it is built on: the bench's "pipeline" rows.
 */
import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { Chunker, gearTable } from '../src/lib/store/chunker.js';
import type { StoreKeys } from '../src/lib/store/keys.js';
import { shardsBytes } from '../src/lib/store/erasure.js';
import { SECTOR_MAX, SECTOR_PLAIN_MAX, sealToShards } from '../src/lib/store/sector.js';
import { SectorWorker } from '../src/lib/store/sectorworker.js';
import { DEFAULT_CHUNKER } from '../src/lib/store/store.js';

const MiB = 1024 * 1024;

/** Incompressible bytes, fast: a ChaCha20 keystream. */
export function noise(size: number): Buffer {
  return createCipheriv('chacha20', randomBytes(32), randomBytes(16)).update(Buffer.alloc(size));
}

/**
 * The push pipeline without I/O over `total` bytes (a 32 MiB buffer, repeated,
 * copied in as a file read would be), in MB/s: chunk, chunk ids, and per sector
 * seal + erasure-code + shard hashes, either all on this thread or, as push
 * runs it, the sector work on the sector worker with up to 4 sectors in flight
 * and their shard buffers recycled.
 */
export async function pipelineRate(keys: StoreKeys, total: number, threaded: boolean): Promise<number> {
  const chunker = new Chunker(gearTable(keys.gear), DEFAULT_CHUNKER);
  const src = noise(32 * MiB);
  const worker = new SectorWorker(keys);
  const into = Buffer.alloc(shardsBytes(SECTOR_MAX, 2, 3));
  const free: Buffer[] = [];
  const inflight = new Set<Promise<void>>();
  let sector: Buffer = Buffer.allocUnsafe(SECTOR_PLAIN_MAX);
  let used = 0;
  let ids: string[] = [];
  const flush = async () => {
    if (!threaded) {
      sealToShards(keys, sector.subarray(0, used), ids, 2, 3, into);
    } else {
      while (inflight.size >= 4) await Promise.race(inflight);
      const job = worker.seal(sector, used, ids, 2, 3).then((sealed) => {
        free.push(sealed.plain);
        worker.recycle(sealed);
        inflight.delete(job);
      });
      inflight.add(job);
      sector = free.pop() ?? Buffer.allocUnsafe(SECTOR_PLAIN_MAX);
    }
    used = 0;
    ids = [];
  };
  // Input comes as push reads a file: copied into the chunker's buffer, a batch at a time.
  let done = 0;
  const read = async (buf: Uint8Array, off: number, len: number) => {
    const n = Math.min(len, total - done, src.length - (done % src.length));
    buf.set(src.subarray(done % src.length, (done % src.length) + n), off);
    done += n;
    return n;
  };
  const start = performance.now();
  try {
    for await (const batch of chunker.batches(read, 4 * MiB)) {
      for (const chunk of batch) {
        const id = createHmac('sha256', keys.ids).update(chunk).digest('hex');
        if (used + chunk.length > SECTOR_PLAIN_MAX) await flush();
        ids.push(id);
        chunk.copy(sector, used);
        used += chunk.length;
      }
    }
    if (used > 0) await flush();
    await Promise.all(inflight);
    return total / 1e6 / ((performance.now() - start) / 1000);
  } finally {
    await worker.close();
  }
}

/**
 * node:crypto chacha20-poly1305 plus sha256 over `total` bytes of an 8 MiB
 * buffer, in MB/s: the floor of any pipeline built on them. Encrypted in the
 * 64 KiB calls the store makes (aead.ts), which here are several times faster
 * than one call per buffer.
 */
export function aeadShaRate(total: number): number {
  const buf = noise(8 * MiB);
  const key = randomBytes(32);
  const start = performance.now();
  for (let done = 0; done < total; done += buf.length) {
    const c = createCipheriv('chacha20-poly1305', key, randomBytes(12), { authTagLength: 16 });
    for (let at = 0; at < buf.length; at += 64 * 1024) c.update(buf.subarray(at, at + 64 * 1024));
    c.final();
    c.getAuthTag();
    createHash('sha256').update(buf).digest();
  }
  return total / 1e6 / ((performance.now() - start) / 1000);
}
