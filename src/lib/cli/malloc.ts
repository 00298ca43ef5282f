/**
 * glibc malloc's trim threshold for the store commands.
 *
 * node:crypto hands back every update() as a new Buffer, so sealing and
 * opening sectors leaves ~1 byte of garbage per byte, in 64 KiB blocks (aead.ts),
 * that V8 frees some tens of MB at a time. In a worker thread glibc then finds
 * that much free at the top of the thread's arena, above its trim threshold
 * (128 KiB by default), and gives it back to the kernel, so the next tens of
 * MB are fresh pages again: a fault per 4 KiB, which on virtual machines
 * costs more than the cipher. Whether it happens depends on when the
 * collections fall, so without this the same sealing can take up to twice
 * the CPU from one run to the next.
 *
 * glibc raises its thresholds by itself when a block it had to map on its own
 * (one over the mmap threshold) is freed: the mmap threshold becomes that
 * block's size, up to 32 MiB on 64-bit, and the trim threshold twice that
 * (mallopt(3), "M_MMAP_THRESHOLD"). Node offers no mallopt, and the
 * MALLOC_TRIM_THRESHOLD_ variable must be set before the process starts, so
 * the command frees such a block once, first thing: never touched, it costs no
 * page and no copy. Under another allocator (musl, macOS) this frees an unused
 * block and changes nothing else.
 */
import { MessageChannel } from 'node:worker_threads';

/**
 * The largest block that still moves glibc's thresholds, which follow freed
 * blocks only up to DEFAULT_MMAP_THRESHOLD_MAX (32 MiB on 64-bit): 1 MiB under
 * it leaves room for the block's header and page rounding.
 */
export const MALLOC_THRESHOLD_BLOCK = 31 * 1024 * 1024;

/**
 * Has malloc keep up to ~62 MiB freed in each arena instead of returning it.
 * The block is freed when the ports below close, on the event loop's next turn.
 * A transferred ArrayBuffer that nothing receives is freed then, without
 * waiting for a garbage collection.
 */
export function raiseMallocTrimThreshold(): void {
  const block = Buffer.allocUnsafeSlow(MALLOC_THRESHOLD_BLOCK);
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(block, [block.buffer as ArrayBuffer]);
  port1.close();
  port2.close();
}
