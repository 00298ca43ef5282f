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
  /** Stopped by SIGINT (Ctrl-C): the shell's 128 + 2. */
  interrupted: 130,
  /** Stopped by SIGTERM (kill, a timeout, systemd): 128 + 15. */
  terminated: 143,
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

/**
 * What an operation stopped by its AbortSignal throws, at a point where what
 * it did is whole: `kept` says what that is. The signal's reason, when it is a
 * CloudCoinError (the CLI's: which process signal, which exit code), gives the
 * message's start, the code and the exit code; any other reason gives
 * `interrupted`, EINTERRUPTED, exit 130.
 *
 * @example
 * if (signal?.aborted) throw interruptedError(signal, `${done} of ${all} files restored`);
 */
export function interruptedError(signal: AbortSignal, kept: string): CloudCoinError {
  const why = signal.reason instanceof CloudCoinError ? signal.reason : new CloudCoinError('EINTERRUPTED', 'interrupted', ExitCode.interrupted);
  return new CloudCoinError(why.code, `${why.message}: ${kept}`, why.exitCode);
}

/**
 * A port another process holds, said one way by the node and the file server
 * alike, so that a parent that started one of them as a child (the devnet)
 * can tell this failure from its one-line error and retry on other ports.
 */
export function portInUseError(what: string, port: number): CloudCoinError {
  return new CloudCoinError('EPORTINUSE', `${what} port ${port} is already in use`, ExitCode.conflict);
}

/** Whether a child's one-line error is a portInUseError. */
export function saysPortInUse(message: string | null): boolean {
  return message !== null && / port \d+ is already in use$/.test(message);
}

/**
 * An HTTP answer's error: the one type every HTTP layer (the node's extension
 * routes, the file server) throws and turns into `{ error: { code, message } }`
 * with `status`. Only HTTP code throws it; domain code throws CloudCoinError
 * and the HTTP layer maps its code to a status.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    /** What went wrong underneath, for the server's log only: the client sees `message`. */
    cause?: unknown,
  ) {
    super(message, { cause });
    this.name = 'HttpError';
  }
}
