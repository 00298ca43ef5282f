/**
 * terminalProgress: nothing at all off a terminal or with --json; on one, the
 * drawing code loads on its own and then draws the latest event, including
 * one sent before it had loaded.
 */
import test from 'ava';
import { Writable } from 'node:stream';
import type { ProgressEvent } from '../src/lib/store/index.js';
import { terminalProgress } from '../src/lib/ui/terminal.js';

// ink draws nothing but the last frame, at unmount, when CI is set (is-in-ci,
// read as ink loads, which terminal.ts does lazily): CI runs this file with it.
delete process.env.CI;
delete process.env.CONTINUOUS_INTEGRATION;

/** A stream that says it is a terminal and keeps what is written to it. */
function fakeTerminal(): { out: NodeJS.WriteStream; text: () => string } {
  let text = '';
  const w = new Writable({
    write(chunk, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  Object.assign(w, { isTTY: true, columns: 120, rows: 40 });
  return { out: w as unknown as NodeJS.WriteStream, text: () => text };
}

const event = (files: number): ProgressEvent => ({ phase: 'pull', files, totalFiles: 10, bytes: files * 1024, totalBytes: 10 * 1024, rate: 2048, transferred: 0, eta: 3, done: false });

test('no callback off a terminal or with --json', (t) => {
  const notTty = Object.assign(new Writable({ write: (_c, _e, cb) => cb() }), { isTTY: false }) as unknown as NodeJS.WriteStream;
  t.is(terminalProgress(false, notTty).progress, undefined);
  t.is(terminalProgress(true, fakeTerminal().out).progress, undefined);
});

test('on a terminal, an event sent before the drawing code loaded is drawn once it has, and later ones after it', async (t) => {
  const term = fakeTerminal();
  const ui = terminalProgress(false, term.out);
  ui.progress!(event(3));
  await ui.ready;
  t.regex(term.text(), /pull .*files 3\/10/);
  ui.progress!(event(7));
  await new Promise((r) => setTimeout(r, 100));
  t.regex(term.text(), /files 7\/10/);
  ui.stop();
});
