/**
 * Worker thread body for SectorWorker: seals and erasure-codes sectors for push;
 * for pull rebuilds and decrypts sectors, checks the chunks that will be read
 * from them, and hashes shards (when asked, or when a sector does not decrypt,
 * to find which shard was wrong); all off the main thread. Receives the data
 * and ids keys once (workerData), then one message per sector. Push memory is
 * shared (see sectorworker.ts): plaintext buffers the main thread shared
 * ('share') are named by number, and shard buffers made here cross once, then
 * are named by number too, and come back ('recycle') to be filled again. Pull
 * buffers are transferred, not copied: shards and plaintexts come out, and a
 * pull lends the plaintext buffers of sectors it has written out for the next
 * ones: fresh multi-MiB buffers cost a page fault per 4 KiB, which on the CI
 * machines is slower than the sealing.
 */
import { createHmac } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { shardsBytes } from './erasure.js';
import { SECTOR_MAX, SECTOR_OVERHEAD, openShards, sealToShards, shardId } from './sector.js';

const keys = { data: Buffer.from(workerData.data), ids: Buffer.from(workerData.ids) };
/** Memory the main thread shares, by number. */
const _sharedIn = new Map<number, SharedArrayBuffer>((workerData.shared as { ref: number; sab: SharedArrayBuffer }[]).map((s) => [s.ref, s.sab]));
/** Shard memory made here, by number; `_free` is what the main thread gave back. */
const _shards: Buffer[] = [];
const _free: number[] = [];

function _seal(m: { plainRef: number; length: number; chunkIds: string[]; k: number; n: number }): [object, ArrayBuffer[]] {
  // New buffers are made for the largest sector, so that any later sector fits when it comes back.
  const need = shardsBytes(m.length + SECTOR_OVERHEAD, m.k, m.n);
  const at = _free.findIndex((ref) => _shards[ref].length >= need);
  const fresh = at < 0;
  const ref = fresh ? _shards.push(Buffer.from(new SharedArrayBuffer(Math.max(need, shardsBytes(SECTOR_MAX, m.k, m.n))))) - 1 : _free.splice(at, 1)[0];
  const into = _shards[ref];
  const { id, size, ids, shards } = sealToShards(keys, Buffer.from(_sharedIn.get(m.plainRef)!, 0, m.length), m.chunkIds, m.k, m.n, into);
  // A new buffer crosses once; after that its number does.
  return [{ id, size, ids, allRef: ref, all: fresh ? into.buffer : undefined, offsets: shards.map((s) => s.byteOffset), shardLength: shards[0].length }, []];
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
  if (m.op === 'recycle') return void _free.push(m.ref);
  if (m.op === 'share') return void _sharedIn.set(m.ref, m.sab);
  if (m.op === 'unshare') return void _sharedIn.delete(m.ref);
  try {
    const [reply, transfer] = _ops[m.op](m);
    parentPort!.postMessage({ seq: m.seq, ...reply }, transfer);
  } catch (err: any) {
    // A CloudCoinError's code travels with the message so the main thread can rebuild it.
    parentPort!.postMessage({ seq: m.seq, error: String(err?.message ?? err), code: err?.code, exitCode: err?.exitCode });
  }
});
