/**
 * V8 heap growth for the store commands, which move hundreds of MB through
 * Buffers in a process that lives seconds to minutes.
 *
 * V8 counts Buffer memory allocated since the last full collection against
 * the old generation's limit, and sizes that limit from the live heap, ~10-15
 * MB here: every ~16 MB of HTTP answers read started a full collection, ~200
 * of them in a 2 GB pull, a fifth of the client's CPU. Growing the limit
 * to three times the live heap (instead of V8's ~1.5-2.5) cut that pull's
 * user CPU by 30% (9.6-10.1 to 6.8-7.0 s) with no higher peak (222-223
 * against 214-232 MiB), now that decrypted sectors are reused rather than
 * left to the collector (reader.ts). Unlike --initial-old-space-size, this
 * flag is read at every collection, so it works when set at run time. The
 * daemon does not set it: its heap is large and long-lived.
 */
import { setFlagsFromString } from 'node:v8';

export const STORE_HEAP_GROWING_PERCENT = 200;

export function tuneHeapForStore(): void {
  setFlagsFromString(`--heap-growing-percent=${STORE_HEAP_GROWING_PERCENT}`);
}
