/**
 * The store commands' malloc tuning (src/lib/cli/malloc.ts, called by
 * tuneV8ForStore): a worker thread that seals as the sector worker does
 * (node:crypto in 64 KiB calls, every output a new Buffer) should keep
 * reusing the memory its garbage is freed into, not have glibc hand it back
 * to the kernel and fault it in again after each collection. Counted in page
 * faults, beside the same work with the same V8 flags and glibc's own
 * threshold, each in a fresh process. On a loaded machine a collection can
 * free more than the raised threshold at once, so this is a figure to read,
 * not a test: five runs each, the median.
 */
import { execFileSync } from 'node:child_process';
import type { BenchSuite, Figure } from './harness.js';

const glibc = Boolean((process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime);
/** The compiled module: the bench runs from dist/. */
const HEAP = new URL('../src/lib/cli/heap.js', import.meta.url).href;
const RUNS = 5;

/** Minor page faults of rounds 2-12 of 64 MiB of sealing on a fresh worker thread, in a fresh process. */
function faultsAfterFirstRound(tuned: boolean): number {
  const worker = `
    const { createCipheriv } = require('node:crypto');
    const piece = Buffer.alloc(65536, 1);
    const sink = Buffer.alloc(65536);
    const rounds = [];
    for (let r = 0; r < 12; r++) {
      const before = process.resourceUsage().minorPageFault;
      const c = createCipheriv('chacha20-poly1305', Buffer.alloc(32), Buffer.alloc(12), { authTagLength: 16 });
      for (let i = 0; i < 1024; i++) sink.set(c.update(piece));
      rounds.push(process.resourceUsage().minorPageFault - before);
    }
    require('node:worker_threads').parentPort.postMessage(rounds);`;
  const script = `
    import { setFlagsFromString } from 'node:v8';
    import { Worker } from 'node:worker_threads';
    import { STORE_HEAP_GROWING_PERCENT, tuneV8ForStore } from ${JSON.stringify(HEAP)};
    // Untuned, the same V8 flags without the malloc change: only that differs.
    if (${tuned}) tuneV8ForStore('upload');
    else ['--no-opt', '--heap-growing-percent=' + STORE_HEAP_GROWING_PERCENT.upload].forEach((f) => setFlagsFromString(f));
    await new Promise((r) => setImmediate(r));
    const w = new Worker(${JSON.stringify(worker)}, { eval: true, execArgv: [] });
    w.once('message', (rounds) => { console.log(JSON.stringify(rounds)); w.terminate(); });`;
  const rounds: number[] = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', stdio: 'pipe' }));
  return rounds.slice(1).reduce((a, b) => a + b, 0);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export const mallocBench: BenchSuite = {
  name: 'malloc',
  async run(): Promise<Figure[]> {
    if (!glibc) throw new Error('not glibc: its trim threshold is what this measures');
    const tuned = median(Array.from({ length: RUNS }, () => faultsAfterFirstRound(true)));
    const untuned = median(Array.from({ length: RUNS }, () => faultsAfterFirstRound(false)));
    // 704 MiB go through 64 KiB buffers after the first round: 2,048 faults is 8 MiB faulted in.
    return [{
      name: 'page faults sealing 704 MiB on a worker, trim threshold raised (median of 5)',
      value: tuned,
      unit: 'faults',
      reference: { name: "glibc's own threshold", value: untuned, unit: 'faults' },
    }];
  },
};
