import type { HiddenSnapshot } from '../store/index.js';

/** One stderr line a snapshot seen before that no host lists now (docs/store.md, "Snapshots no host lists"). */
export function warnHidden(hidden: HiddenSnapshot[]): void {
  for (const h of hidden) {
    process.stderr.write(`warning: snapshot ${h.id.slice(0, 16)} of ${h.time}, seen before, is listed by no host (hidden, its hosts down, or forgotten elsewhere: store forget ${h.id.slice(0, 16)} if so)\n`);
  }
}
