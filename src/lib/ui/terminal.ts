/**
 * Progress for the store commands: drawn on stderr when it is a terminal and
 * --json is off; elsewhere no callback at all, so cron logs stay clean and
 * the drawing code (ink, progress.tsx) is never loaded.
 */
import type { ProgressEvent, ProgressFn } from '../store/index.js';
import type { ProgressView } from './progress.js';

/**
 * A ProgressFn drawing on `out` (stderr) when it is a terminal and --json is
 * off; else undefined. Call `stop()` when done. `ready` settles once drawing
 * can start.
 */
export function terminalProgress(json: boolean, out: NodeJS.WriteStream = process.stderr): { progress: ProgressFn | undefined; stop: () => void; ready: Promise<void> } {
  if (json || !out.isTTY) return { progress: undefined, stop: () => {}, ready: Promise.resolve() };
  let view: ProgressView | undefined;
  let last: ProgressEvent | undefined;
  let stopped = false;
  // Loaded while the command starts (the key's derivation leaves the main thread idle);
  // events before then are not lost: the latest is drawn once it is.
  const ready = import('./progress.js').then(
    ({ ProgressView: View }) => {
      if (stopped) return;
      view = new View(out);
      if (last) view.draw(last);
    },
    () => undefined,
  );
  return {
    ready,
    progress: (event) => {
      last = event;
      view?.draw(event);
    },
    stop: () => {
      stopped = true;
      view?.stop();
    },
  };
}
