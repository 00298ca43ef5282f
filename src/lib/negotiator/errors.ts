/**
 * The Negotiator's domain errors: a CloudCoinError whose code says what kind
 * of failure it is. The codes are the ones the CLI already reports for the
 * matching HTTP statuses (src/lib/negotiator/client.ts); node/routes.ts is the
 * one place that turns a code back into a status.
 */
import { CloudCoinError, ExitCode, type ExitCodeValue } from '../errors.js';

const EXIT = {
  /** Bad input: a malformed value, or a request this node cannot make. */
  EUSAGE: ExitCode.usage,
  /** The wallet cannot pay for it. */
  EFUNDS: ExitCode.funds,
  /** No such offer, contract or pending negotiation. */
  ENOTFOUND: ExitCode.failure,
  /** Right request, wrong moment: state, timing, a peer that is gone. */
  ECONFLICT: ExitCode.conflict,
  /** This node's key is not a party of that contract. */
  ENOTPARTY: ExitCode.failure,
  /** The node holds no wallet passphrase. */
  ELOCKED: ExitCode.auth,
  /** The wallet failed for a reason of its own. */
  EWALLET: ExitCode.failure,
} as const satisfies Record<string, ExitCodeValue>;

export type NegotiatorErrorCode = keyof typeof EXIT;

export const NEGOTIATOR_ERROR_CODES = Object.keys(EXIT) as NegotiatorErrorCode[];

export function negotiatorError(code: NegotiatorErrorCode, message: string): CloudCoinError {
  return new CloudCoinError(code, message, EXIT[code]);
}
