/**
 * Waiting for work that should end soon without waiting for ever: a stop
 * that waits on background work which hangs would leave a process running
 * after it was asked to stop.
 */

/** Waits for `work` (its failure is its own) or `ms` at most; true when it finished, else `onLate` is told what did not. */
export async function settledWithin(work: Promise<unknown> | undefined, ms: number, what: string, onLate: (line: string) => void): Promise<boolean> {
  if (!work) return true;
  let timer: NodeJS.Timeout | undefined;
  const finished = await Promise.race([
    work.then(() => true, () => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]);
  clearTimeout(timer);
  if (!finished) onLate(`stopping: ${what} did not finish within ${ms / 1000} s; stopping without it`);
  return finished;
}
