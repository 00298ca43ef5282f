/**
 * V8 heap growth for a file server process (`cloudcoin serve`, cloudcoin-serve).
 *
 * Its own heap is small (~8 MB live) while every upload arrives as 64 KiB
 * socket Buffers that V8 counts against the old generation's limit: with V8's
 * own growing factor that started a full collection every ~30 MB received,
 * 17-20% of a server's CPU during a push. Four times the live heap as headroom
 * cut a server's CPU by ~10% (0.41-0.45 to 0.36-0.40 s for its 125 MB of a
 * 250 MB push) with the same peak (116-127 MiB, which the staging buffers set).
 * Set at run time: the flag is read at every collection.
 */
import { setFlagsFromString } from 'node:v8';

export const FILE_SERVER_HEAP_GROWING_PERCENT = 400;

export function tuneHeapForFileServer(): void {
  setFlagsFromString(`--heap-growing-percent=${FILE_SERVER_HEAP_GROWING_PERCENT}`);
}
