/**
 * V8 heap growth for a file server process (`cloudcoin serve`, cloudcoin-serve).
 *
 * Its own heap is small while every upload arrives as 64 KiB socket Buffers
 * that V8 counts against the old generation's limit: with V8's own growing
 * factor a push kept starting full collections, a large share of a server's
 * CPU. Four times the live heap as headroom makes them rare without raising
 * the peak, which the staging buffers set (docs/store.md, "Speed and memory").
 * Set at run time: the flag is read at every collection.
 */
import { setFlagsFromString } from 'node:v8';

export const FILE_SERVER_HEAP_GROWING_PERCENT = 400;

export function tuneHeapForFileServer(): void {
  setFlagsFromString(`--heap-growing-percent=${FILE_SERVER_HEAP_GROWING_PERCENT}`);
}
