/**
 * V8 settings for the store commands, which move hundreds of MB through
 * Buffers in a process that lives seconds to minutes.
 *
 * Heap growth. V8 counts Buffer memory allocated since the last full
 * collection against the old generation's limit, and sizes that limit from
 * the live heap, only ~10-15 MB here: left alone, every ~16 MB of HTTP
 * answers read starts a full collection, which made up a fifth of a large
 * pull's CPU. Growing the limit to three times the live heap (V8's own
 * factor is ~1.5-2.5) removes most of them without a higher peak, since
 * decrypted sectors are reused rather than left to the collector
 * (reader.ts). A push, whose garbage is sectors handed back by the sector
 * worker, takes five times for less CPU at the same peak; a pull at five
 * times nears 256 MiB at 2 GB, so it stays at three. Unlike
 * --initial-old-space-size, this flag is read at every collection, so it
 * works when set at run time. The daemon does not set it: its heap is large
 * and long-lived.
 *
 * No optimizing compiler. The bulk work is native (node:crypto, the file
 * system) or WebAssembly (gear, GF(256)), so TurboFan mostly compiles glue
 * that a short process leaves soon after: without it a push spends less CPU
 * and large pushes and pulls run as fast. It must be set before the hot
 * functions are first optimized: withStore sets it first thing.
 *
 * And glibc keeps the memory those Buffers are freed into (malloc.ts).
 */
import { setFlagsFromString } from 'node:v8';
import { raiseMallocTrimThreshold } from './malloc.js';

/** What a store command mostly does with its Buffers: upload (push) or the rest. */
export type StoreWork = 'upload' | 'read';

export const STORE_HEAP_GROWING_PERCENT: Record<StoreWork, number> = { upload: 400, read: 200 };

export function tuneV8ForStore(work: StoreWork): void {
  raiseMallocTrimThreshold();
  setFlagsFromString('--no-opt');
  setFlagsFromString(`--heap-growing-percent=${STORE_HEAP_GROWING_PERCENT[work]}`);
}
