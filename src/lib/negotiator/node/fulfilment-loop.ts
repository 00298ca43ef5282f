/**
 * The loop that runs the daemon's own fulfilment work: woken by each block
 * the chain connects and by a timer (a file server that was down is asked
 * again without waiting for a block), never running two rounds at once. A
 * round runs each step in turn; a step that fails is logged in one line and
 * tried again next round, and nothing is thrown into bcoin's event handlers.
 */
import type { NodeAdapter } from './adapter.js';

export interface FulfilmentStep {
  /** Short name for the log line of a failure. */
  readonly name: string;
  run(): Promise<void>;
}

export class FulfilmentLoop {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;
  private readonly wake = () => void this.round();

  constructor(
    private readonly node: NodeAdapter,
    private readonly steps: FulfilmentStep[],
    private readonly everyMs: number,
  ) {}

  open(): void {
    this.node.chain.on('connect', this.wake);
    this.timer = setInterval(this.wake, this.everyMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.node.chain.removeListener('connect', this.wake);
    await this.running;
  }

  /** Runs a round now, or once more after the one running; resolves when that round is done. */
  round(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          for (const step of this.steps) {
            if (this.closed) break;
            try {
              await step.run();
            } catch (err) {
              this.node.logger.error(`negotiator: ${step.name} failed: ${(err as Error).message}`);
            }
          }
        } while (this.again && !this.closed);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }
}
