/**
 * Errors that reach the user. Every failure the CLI reports is a CloudCoinError
 * with a stable `code` (for --json and scripts) and the process exit code that
 * the commands document in their help.
 */

export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  nodeNotRunning: 3,
  auth: 4,
  funds: 5,
  partial: 6,
  conflict: 7,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class CloudCoinError extends Error {
  readonly code: string;
  readonly exitCode: ExitCodeValue;

  constructor(code: string, message: string, exitCode: ExitCodeValue = ExitCode.failure) {
    super(message);
    this.name = 'CloudCoinError';
    this.code = code;
    this.exitCode = exitCode;
  }
}

export function isCloudCoinError(err: unknown): err is CloudCoinError {
  return err instanceof CloudCoinError;
}
