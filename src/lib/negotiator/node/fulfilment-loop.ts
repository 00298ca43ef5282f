/**
 * The loop that runs the daemon's own fulfilment work: woken by each block
 * the chain connects and by a timer (a file server that was down is asked
 * again without waiting for a block), never running two rounds at once. A
 * round runs each step in turn; a step that fails is logged in one line and
 * tried again next round, and nothing is thrown into bcoin's event handlers.
 */
import { CoalescedRounds } from '../../coalesced-rounds.js';
import type { NodeAdapter } from './adapter.js';

export interface FulfilmentStep {
  /** Short name for the log line of a failure. */
  readonly name: string;
  run(): Promise<void>;
}

export class FulfilmentLoop {
  private readonly rounds = new CoalescedRounds(() => this.runSteps());

  constructor(
    private readonly node: NodeAdapter,
    private readonly steps: FulfilmentStep[],
    private readonly everyMs: number,
  ) {}

  open(): void {
    this.rounds.wakeOn(this.node.chain, ['connect'], { everyMs: this.everyMs });
  }

  close(): Promise<void> {
    return this.rounds.close();
  }

  /** Runs a round now, or once more after the one running; resolves when that round is done. */
  round(): Promise<void> {
    return this.rounds.run();
  }

  private async runSteps(): Promise<void> {
    for (const step of this.steps) {
      if (this.rounds.closed) return;
      try {
        await step.run();
      } catch (err) {
        this.node.logger.error(`negotiator: ${step.name} failed: ${(err as Error).message}`);
      }
    }
  }
}
