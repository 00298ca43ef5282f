/**
 * One lane's progress, which another keeps pace with: the follower waits until
 * the leader has done at least the share of its bytes that the follower has
 * done of its own work. Push and pull both run small files (many system calls
 * for few bytes, on the main thread) beside big ones (bytes for the sector
 * worker): run first or last, the small files kept the main thread busy while
 * the worker idled, or the other way round.
 */
export class Pace {
  private readonly _total: number;
  private _done = 0;
  private _over = false;
  private _wake: (() => void) | null = null;

  /** `total`: the leader's bytes. */
  constructor(total: number) {
    if (!(total >= 0)) throw new RangeError('total must be a non-negative number');
    this._total = total;
  }

  /** The leader did `bytes` more. */
  advance(bytes: number): void {
    this._done += bytes;
    this._wake?.();
  }

  /** The leader is done, or stopped: the follower waits no more. */
  end(): void {
    this._over = true;
    this._wake?.();
  }

  /** Resolves once the leader has done `share` (0 to 1) of its bytes, or has ended. One follower at a time. */
  async reach(share: number): Promise<void> {
    while (!this._over && this._done < share * this._total) await new Promise<void>((resolve) => (this._wake = resolve));
  }
}
