/**
 * The one error type that CloudCoin's wire formats throw on bad input.
 *
 * Whatever a peer sends, decoding and the contextual checks either succeed or
 * throw a ProtocolError: `reason` is a stable machine-readable string and
 * `score` is what the node adds to the sending peer's ban score (bcoin bans
 * at 100). A score of 0 means "not misbehaviour" (a stale relay, a policy
 * refusal, a version we cannot read yet).
 */
import { CloudCoinError } from '../errors.js';

/** Ban scores, one per kind of failure; docs/protocol.md lists them. */
export const BanScore = {
  /** Cannot be parsed: truncated, trailing bytes, out-of-range field. */
  malformed: 100,
  /** Longer than the message type's maximum. */
  oversize: 100,
  /** A signature that does not verify: a forgery or a corrupted relay. */
  badSignature: 100,
  /** A message that belongs to another negotiation or step (spliced). */
  splice: 20,
  /** More messages than the per-peer budget allows. */
  flood: 20,
  /** A message seen before (a replay); honest retransmits cost little. */
  replay: 10,
  /** Past its expiry, or expiring implausibly far ahead. */
  expired: 10,
  /** Not misbehaviour: stale, duplicate, refused by policy, newer version. */
  none: 0,
} as const;

export type BanScoreValue = (typeof BanScore)[keyof typeof BanScore];

export class ProtocolError extends CloudCoinError {
  /** Stable short reason, e.g. `bad-signature`, `oversize`, `expired`. */
  readonly reason: string;
  /** Ban score to add to the sending peer. */
  readonly score: number;

  constructor(reason: string, message: string, score: number) {
    super('protocol', message);
    this.name = 'ProtocolError';
    this.reason = reason;
    this.score = score;
  }
}

export function isProtocolError(err: unknown): err is ProtocolError {
  return err instanceof ProtocolError;
}

/** A malformed-input ProtocolError; the common case while decoding. */
export function malformed(message: string): ProtocolError {
  return new ProtocolError('malformed', message, BanScore.malformed);
}
