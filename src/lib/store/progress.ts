/**
 * Progress reporting: the engine calls one function with plain events; the CLI
 * renders them (ink on a terminal, nothing or JSON lines otherwise). The library
 * itself never prints.
 */

export interface ProgressEvent {
  phase: 'push' | 'pull';
  /** Files (and other entries) done so far / in all, when known. */
  files: number;
  totalFiles?: number;
  /** Content bytes processed so far / in all, when known. */
  bytes: number;
  totalBytes?: number;
  /** Bytes sent to or read from backends so far. */
  transferred: number;
  /** Content bytes per second since the start. */
  rate: number;
  /** Seconds left at the current rate, when the total is known. */
  eta?: number;
  /** True on the last event of the operation. */
  done: boolean;
}

export type ProgressFn = (event: ProgressEvent) => void;

/** Accumulates counts and calls `fn` at most every `intervalMs`, plus a final event. */
export class ProgressMeter {
  files = 0;
  bytes = 0;
  transferred = 0;
  totalFiles: number | undefined;
  totalBytes: number | undefined;
  private readonly _phase: ProgressEvent['phase'];
  private readonly _fn: ProgressFn | undefined;
  private readonly _interval: number;
  private readonly _start: number;
  private _last = 0;

  /** `start`: when the operation began (performance.now()), if before the meter was made. */
  constructor(phase: ProgressEvent['phase'], fn?: ProgressFn, options: { intervalMs?: number; start?: number } = {}) {
    this._phase = phase;
    this._fn = fn;
    this._interval = options.intervalMs ?? 200;
    this._start = options.start ?? performance.now();
  }

  get seconds(): number {
    return (performance.now() - this._start) / 1000;
  }

  /** Emits an event if the interval has passed (or always, when `done`). */
  tick(done = false): void {
    if (!this._fn) return;
    const now = performance.now();
    if (!done && now - this._last < this._interval) return;
    this._last = now;
    const rate = this.bytes / Math.max(this.seconds, 1e-3);
    const eta = this.totalBytes !== undefined && rate > 0 ? Math.max(0, (this.totalBytes - this.bytes) / rate) : undefined;
    this._fn({
      phase: this._phase,
      files: this.files,
      totalFiles: this.totalFiles,
      bytes: this.bytes,
      totalBytes: this.totalBytes,
      transferred: this.transferred,
      rate,
      eta,
      done,
    });
  }
}
