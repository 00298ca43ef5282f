/**
 * The store's progress on a terminal, drawn with ink: files, bytes, rate and
 * ETA, redrawn in place on stderr. Only on a TTY and never with --json;
 * elsewhere `terminalProgress` gives no callback, so cron logs stay clean.
 */
import { Box, Text, render, type Instance } from 'ink';
import type { ProgressEvent, ProgressFn } from '../store/index.js';

/** 1536 → "1.5 KiB". */
export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/** 125 → "2m05s". */
export function humanSeconds(s: number): string {
  const t = Math.round(s);
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
}

export function Progress({ event }: { event: ProgressEvent }) {
  const files = event.totalFiles !== undefined ? `${event.files}/${event.totalFiles}` : `${event.files}`;
  const bytes = event.totalBytes !== undefined ? `${humanBytes(event.bytes)}/${humanBytes(event.totalBytes)}` : humanBytes(event.bytes);
  const pct = event.totalBytes ? Math.min(100, Math.floor((100 * event.bytes) / event.totalBytes)) : undefined;
  const width = 24;
  const filled = pct === undefined ? 0 : Math.round((pct * width) / 100);
  return (
    <Box>
      <Text color="cyan">{event.phase} </Text>
      {pct !== undefined && <Text>[{'#'.repeat(filled)}{'.'.repeat(width - filled)}] {String(pct).padStart(3)}% </Text>}
      <Text>files {files}  {bytes}  {humanBytes(event.rate)}/s</Text>
      {event.eta !== undefined && !event.done && <Text>  ETA {humanSeconds(event.eta)}</Text>}
      {event.transferred > 0 && <Text dimColor>  {event.phase === 'push' ? 'sent' : 'read'} {humanBytes(event.transferred)}</Text>}
    </Box>
  );
}

/** A ProgressFn drawing on stderr when it is a terminal and --json is off; else undefined. Call `stop()` when done. */
export function terminalProgress(json: boolean): { progress: ProgressFn | undefined; stop: () => void } {
  if (json || !process.stderr.isTTY) return { progress: undefined, stop: () => {} };
  let ink: Instance | undefined;
  const progress: ProgressFn = (event) => {
    const el = <Progress event={event} />;
    if (!ink) ink = render(el, { stdout: process.stderr as unknown as NodeJS.WriteStream, patchConsole: false, exitOnCtrlC: false });
    else ink.rerender(el);
  };
  return {
    progress,
    stop: () => {
      ink?.unmount();
      ink = undefined;
    },
  };
}
