/**
 * The base of every cloudcoin command: the global flags, and one place that
 * turns any failure into one line on stderr (plus a JSON error object on
 * stdout with --json) and the documented exit code.
 */
import { Command, Flags, Interfaces } from '@oclif/core';
import { CloudCoinError, ExitCode, isCloudCoinError } from '../errors.js';
import { resolveLocation, type Location } from '../config/settings.js';

/** oclif's FlagOutput and ArgOutput, which it does not export. */
type _Output = { [name: string]: any };

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>;

export const EXIT_STATUS = `EXIT STATUS
  0  success
  1  failure
  2  usage: a bad flag, argument or configuration
  3  the node is not running
  4  authentication: wrong passphrase or API key
  5  insufficient funds
  6  partial success: some of the work was done and kept
  7  conflict: already running, or locked by another run`;

export abstract class BaseCommand extends Command {
  static enableJsonFlag = true;

  static baseFlags = {
    datadir: Flags.directory({
      summary: 'Data directory of this user on one network (default ~/.cloudcoin/<network>).',
      env: 'CLOUDCOIN_DATADIR',
      helpGroup: 'GLOBAL',
    }),
    network: Flags.string({
      summary: 'Network: main, test or dev.',
      env: 'CLOUDCOIN_NETWORK',
      options: ['main', 'test', 'dev'],
      helpGroup: 'GLOBAL',
    }),
  };

  protected location(flags: { datadir?: string; network?: string }): Location {
    return resolveLocation(flags);
  }

  /**
   * Whatever fails while the command line is parsed is a usage error (2),
   * including what oclif's own argument checks throw as plain errors
   * (`Args.directory({ exists: true })`: "… exists but is not a directory").
   */
  protected override async parse<F extends _Output, B extends _Output, A extends _Output>(
    options?: Interfaces.Input<F, B, A>,
    argv?: string[],
  ): Promise<Interfaces.ParserOutput<F, B, A>> {
    try {
      return await super.parse(options, argv);
    } catch (err) {
      if (err instanceof Error && !isCloudCoinError(err) && !(err as { oclif?: unknown }).oclif) Object.assign(err, { oclif: { exit: ExitCode.usage } });
      throw err;
    }
  }

  /** Human output only: nothing reaches stdout with --json but the JSON itself. */
  protected say(message: string): void {
    if (!this.jsonEnabled()) this.log(message);
  }

  override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<void> {
    const code = isCloudCoinError(err) ? err.code : err.oclif ? 'EUSAGE' : 'EFAILURE';
    const exitCode = isCloudCoinError(err) ? err.exitCode : err.oclif?.exit ?? err.exitCode ?? ExitCode.failure;
    if (err.oclif?.exit === 0) return;
    const message = oneLine(err.message || String(err));
    process.exitCode = exitCode;
    if (this.jsonEnabled()) this.logJson({ error: { code, message, exitCode } });
    // An interruption is what the user asked for, not a failure: its line says what it is.
    process.stderr.write(code === 'EINTERRUPTED' ? `${message}\n` : `error: ${message}\n`);
    if (process.env.CLOUDCOIN_DEBUG && !isCloudCoinError(err)) process.stderr.write(`${err.stack}\n`);
  }
}

function oneLine(message: string): string {
  const first = message.split('\n').map((s) => s.trim()).filter(Boolean);
  return first.slice(0, 2).join(' ').replace(/\s+See more help with --help$/, '');
}

export { CloudCoinError, ExitCode };
