/**
 * The store's progress as ink draws it: files, bytes, rate and ETA, redrawn in
 * place on stderr. Loaded only on a terminal (terminal.ts): ink, React and
 * yoga take ~0.7 s to load, which every cron run paid for nothing.
 */
import { Box, Text, render, type Instance } from 'ink';
import type { ProgressEvent } from '../store/index.js';
import { formatSize } from '../units.js';
import { humanSeconds } from './format.js';

export function Progress({ event }: { event: ProgressEvent }) {
  const files = event.totalFiles !== undefined ? `${event.files}/${event.totalFiles}` : `${event.files}`;
  const bytes = event.totalBytes !== undefined ? `${formatSize(event.bytes)}/${formatSize(event.totalBytes)}` : formatSize(event.bytes);
  const pct = event.totalBytes ? Math.min(100, Math.floor((100 * event.bytes) / event.totalBytes)) : undefined;
  const width = 24;
  const filled = pct === undefined ? 0 : Math.round((pct * width) / 100);
  return (
    <Box>
      <Text color="cyan">{event.phase} </Text>
      {pct !== undefined && <Text>[{'#'.repeat(filled)}{'.'.repeat(width - filled)}] {String(pct).padStart(3)}% </Text>}
      <Text>files {files}  {bytes}  {formatSize(event.rate)}/s</Text>
      {event.eta !== undefined && !event.done && <Text>  ETA {humanSeconds(event.eta)}</Text>}
      {event.transferred > 0 && <Text dimColor>  {event.phase === 'push' ? 'sent' : 'read'} {formatSize(event.transferred)}</Text>}
    </Box>
  );
}

/** Draws each event over the last on `out`. */
export class ProgressView {
  private _ink: Instance | undefined;

  constructor(private readonly _out: NodeJS.WriteStream) {}

  draw(event: ProgressEvent): void {
    const el = <Progress event={event} />;
    if (!this._ink) this._ink = render(el, { stdout: this._out, patchConsole: false, exitOnCtrlC: false });
    else this._ink.rerender(el);
  }

  stop(): void {
    this._ink?.unmount();
    this._ink = undefined;
  }
}
