/**
 * Benchmark figures are printed as rows, each beside the reference it should be
 * read against, measured in the same run on the same machine.
 */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** What the figure is compared with, measured in this same run. */
  reference?: { name: string; value: number; unit: string };
}

export interface BenchSuite {
  name: string;
  run(): Promise<Figure[]>;
}

export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

export function printFigures(suite: string, figures: Figure[]): void {
  console.log(`\n## ${suite}`);
  for (const f of figures) {
    const ref = f.reference ? `   | ${f.reference.name}: ${fmt(f.reference.value)} ${f.reference.unit}` : '';
    console.log(`${f.name.padEnd(56)} ${fmt(f.value).padStart(10)} ${f.unit.padEnd(10)}${ref}`);
  }
}

/** Runs `fn` repeatedly for about `ms` milliseconds; returns operations per second. */
export async function opsPerSecond(fn: () => Promise<void> | void, ms = 1000): Promise<number> {
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < ms) {
    await fn();
    n++;
  }
  return (n * 1000) / (performance.now() - start);
}

export function rssMiB(): number {
  return process.memoryUsage().rss / 1048576;
}
