/**
 * V8 settings for the store commands, which move hundreds of MB through
 * Buffers in a process that lives seconds to minutes.
 *
 * Heap growth. V8 counts Buffer memory allocated since the last full
 * collection against the old generation's limit, and sizes that limit from
 * the live heap, ~10-15 MB here: every ~16 MB of HTTP answers read started a
 * full collection, ~200 of them in a 2 GB pull, a fifth of the client's CPU.
 * Growing the limit to three times the live heap (instead of V8's ~1.5-2.5)
 * cut that pull's user CPU by 30% (9.6-10.1 to 6.8-7.0 s) with no higher peak
 * (222-223 against 214-232 MiB), now that decrypted sectors are reused rather
 * than left to the collector (reader.ts). A push, whose garbage is sectors
 * handed back by the sector worker, takes five times: 4-7% less user CPU at
 * 250 MB and 2 GB with the same peak (190 and 201-211 MiB); a pull at five
 * times reached 254-256 MiB at 2 GB, so it stays at three. Unlike
 * --initial-old-space-size, this flag is read at every collection, so it
 * works when set at run time. The daemon does not set it: its heap is large
 * and long-lived.
 *
 * No optimizing compiler. The bulk work is native (node:crypto, the file
 * system) or WebAssembly (gear, GF(256)), so TurboFan mostly compiles glue a
 * short process leaves soon after: without it a 250 MB push spent ~0.1 CPU-s
 * less and ran 3-4% faster, and 2 GB pushes and pulls ran as fast (9.0-9.3 s
 * and 5.4-6.1 s, against 9.1-9.4 and 5.1-6.1). It must be set before the hot
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
