/**
 * Rounds of background work that never overlap: a round asked for while one
 * runs is run once after it, however many asked, so a burst of blocks costs
 * one extra round rather than one a block, and each asker still sees a round
 * that started after its call. close() stops further rounds and waits for the
 * one running, so whatever a round uses can be closed after it.
 *
 * A pass is a round and the rounds asked for while it ran. run() resolves when
 * the pass its call joined is done, and rejects with the error of a round that
 * throws: that ends the pass (rounds asked for during it are not run) and the
 * next run() starts a new one. A round that logs its own failures never
 * rejects.
 */

/** An emitter whose events wake the rounds: a Node EventEmitter, or bcoin's Chain. */
export interface WakingEmitter<E extends string> {
  on(event: E, listener: () => void): unknown;
  removeListener(event: E, listener: () => void): unknown;
}

export interface WakeOptions {
  /** Also a round this often, on a timer that does not keep the process alive. */
  everyMs?: number;
  /**
   * Takes the failure of a round woken by an event or the timer; without it
   * such a failure is an unhandled rejection, so only a round that logs its
   * own failures goes without.
   */
  onError?: (err: Error) => void;
}

export class CoalescedRounds {
  private _running: Promise<void> | null = null;
  private _again = false;
  private _closed = false;
  private readonly _unwake: (() => void)[] = [];

  constructor(private readonly _round: () => Promise<void>) {}

  /** True once close() was called; a long round checks it between its steps. */
  get closed(): boolean {
    return this._closed;
  }

  /** Runs a round now, or once more after the one running; resolves when that round is done. */
  run(): Promise<void> {
    if (this._closed) return Promise.resolve();
    if (this._running) {
      this._again = true;
      return this._running;
    }
    // Set before the first round starts, so a round that asks again before its first await joins this pass.
    let settle!: { resolve: () => void; reject: (err: unknown) => void };
    this._running = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    const pass = this._running;
    this._pass().then(settle.resolve, settle.reject);
    return pass;
  }

  /** From inside a round: run one more after it (what it did is stale); no effect outside a round. */
  requestAgain(): void {
    if (this._running) this._again = true;
  }

  /** A round on each of `events` and on the timer of `options.everyMs`, until close(). */
  wakeOn<E extends string>(emitter: WakingEmitter<E>, events: readonly E[], options: WakeOptions = {}): void {
    if (this._closed) return;
    const { everyMs, onError } = options;
    const wake = onError ? () => void this.run().catch(onError) : () => void this.run();
    for (const event of events) {
      emitter.on(event, wake);
      this._unwake.push(() => emitter.removeListener(event, wake));
    }
    if (everyMs !== undefined) {
      const timer = setInterval(wake, everyMs);
      timer.unref();
      this._unwake.push(() => clearInterval(timer));
    }
  }

  /** Stops the wakes and further rounds, then waits for the round running (its failure is its caller's). */
  async close(): Promise<void> {
    this._closed = true;
    for (const unwake of this._unwake.splice(0)) unwake();
    await this._running?.catch(() => {});
  }

  private async _pass(): Promise<void> {
    try {
      do {
        this._again = false;
        await this._round();
      } while (this._again && !this._closed);
    } finally {
      this._running = null;
    }
  }
}
