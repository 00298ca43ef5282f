/**
 * An upload's body taken in for a sector: checked against its signed sha256
 * and length, gathered in memory for one direct write or streamed to a file
 * through the page cache (sector-store.ts makes either visible by rename).
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { writeAll } from '../fsutil/write-all.js';
import { SectorStoreError } from './sector-store-error.js';

const WRITE_BATCH = 256 * 1024;

export function checkSha(sha256: string, expected: string): void {
  if (sha256 !== expected) throw new SectorStoreError('bad-body', 'body does not match its signed sha256');
}

/** Reads exactly `size` bytes of `body`, passing each piece to `take`; returns their sha256. */
async function _receive(body: AsyncIterable<Uint8Array>, size: number, take: (chunk: Uint8Array, at: number) => Promise<void> | void): Promise<string> {
  const hash = createHash('sha256');
  let received = 0;
  for await (const chunk of body) {
    if (received + chunk.length > size) throw new SectorStoreError('bad-body', `body longer than ${size} bytes`);
    hash.update(chunk);
    const wrote = take(chunk, received);
    if (wrote) await wrote;
    received += chunk.length;
  }
  if (received !== size) throw new SectorStoreError('bad-body', `body ended after ${received} of ${size} bytes`);
  return hash.digest('hex');
}

/** The body gathered into `staging`, for one direct write; returns its sha256. */
export function gather(body: AsyncIterable<Uint8Array>, size: number, staging: Buffer): Promise<string> {
  return _receive(body, size, (chunk, at) => {
    staging.set(chunk, at);
  });
}

/** The body streamed into a new file at `temp` through the page cache, fsynced; returns its sha256. */
export async function writeBuffered(temp: string, body: AsyncIterable<Uint8Array>, size: number): Promise<string> {
  const fh = await open(temp, 'wx', 0o644);
  try {
    // Socket chunks are ~64 KiB; one writev per 256 KiB saves most thread-pool round trips
    // while holding little memory per upload.
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const sha256 = await _receive(body, size, async (chunk) => {
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes < WRITE_BATCH) return;
      await writeAll(fh, pending);
      pending = [];
      pendingBytes = 0;
    });
    await writeAll(fh, pending);
    await fh.sync();
    return sha256;
  } finally {
    await fh.close();
  }
}
