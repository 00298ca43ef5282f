/**
 * Memory for whole sectors: a few recycled 4 MiB buffers, page-aligned for
 * O_DIRECT where the runtime can (direct-io.ts). GETs read a sector into one
 * and answer with one write; uploads are gathered in one for a direct write.
 * Streaming every answer allocated a fresh 256 KiB buffer per read, and V8
 * starts a full collection every ~16 MB of new Buffer memory: a quarter of a
 * file server's CPU while a renter pulled (`npm run bench -- store`). Only a
 * few buffers exist per pool; a request finding none free streams through
 * the page cache as before, so memory stays bounded under load.
 */
import type { FileHandle } from 'node:fs/promises';
import { BufferPool } from '../buffer-pool.js';
import { alignedBuffer, alignedBuffersAvailable } from '../fsutil/direct-io.js';
import { MAX_SECTOR_SIZE } from './ids.js';

const _SECTOR_BUFFERS = 4;

function _sectorBuffer(): Buffer {
  return alignedBuffersAvailable ? alignedBuffer(MAX_SECTOR_SIZE) : Buffer.allocUnsafe(MAX_SECTOR_SIZE);
}

/** A pool of MAX_SECTOR_SIZE buffers, aligned for O_DIRECT where the runtime can; take() answers null when all are in use. */
export function sectorBufferPool(): BufferPool {
  return new BufferPool({ make: _sectorBuffer, limit: _SECTOR_BUFFERS });
}

/** Reads `length` bytes at `position` of `handle` into the start of `into`; throws if the file ends first. */
export async function readRange(handle: FileHandle, into: Buffer, position: number, length: number): Promise<Buffer> {
  let got = 0;
  while (got < length) {
    const { bytesRead } = await handle.read(into, got, length - got, position + got);
    if (bytesRead === 0) throw new Error(`sector ended after ${got} of ${length} bytes`);
    got += bytesRead;
  }
  return into.subarray(0, length);
}
