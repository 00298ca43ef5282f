/**
 * Passphrases come from CLOUDCOIN_PASSPHRASE (scripts, cron) or, on a
 * terminal, from a prompt that does not echo.
 */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';

export async function readPassphrase(prompt: string, opts: { confirm?: boolean } = {}): Promise<string | undefined> {
  const fromEnv = process.env.CLOUDCOIN_PASSPHRASE;
  if (fromEnv) return fromEnv;
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  const first = await ask(prompt);
  if (opts.confirm) {
    const again = await ask('Repeat the passphrase: ');
    if (again !== first) return undefined;
  }
  return first || undefined;
}

async function ask(prompt: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk, _enc, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  const answer = new Promise<string>((resolve) => rl.question(prompt, resolve));
  muted = true;
  const value = await answer;
  rl.close();
  process.stderr.write('\n');
  return value;
}
