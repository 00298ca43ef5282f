/**
 * What every CloudCoin P2P packet shares: the command names, the version
 * byte that opens every body, and the signed header that binds a
 * negotiation message to one negotiation, one position in it and one expiry.
 *
 * bcoin hands commands it does not know to the pool as raw bytes; ours all
 * start with `cc` and stay within bcoin's 12-character limit.
 */
import { SIG_SIZE } from '../crypto/sig.js';
import { BanScore, ProtocolError, malformed } from './errors.js';
import { SignedMessage } from './signed.js';
import { NID_SIZE } from './terms.js';
import { Reader, Writer } from './wire.js';

/** The version every packet and record of this release writes and reads. */
export const VERSION = 1;

export const types = {
  INV: 'ccinv',
  GETOFFER: 'ccgetoffer',
  OFFER: 'ccoffer',
  PROPOSE: 'ccpropose',
  COUNTER: 'cccounter',
  ACCEPT: 'ccaccept',
  SIGN: 'ccsign',
  REFUSE: 'ccrefuse',
  FUND: 'ccfund',
  FUNDSIG: 'ccfundsig',
  PAY: 'ccpay',
  PAYACK: 'ccpayack',
} as const;

export type PacketType = (typeof types)[keyof typeof types];

export interface Packet {
  readonly cmd: PacketType;
  getSize(): number;
  encode(): Buffer;
}

/** Signing domain of a packet type: a signature for one command is worthless for another. */
export function domainOf(cmd: PacketType): string {
  return `cloudcoin/p2p/${cmd}`;
}

/**
 * Reads the version byte. A version from the future is not misbehaviour (the
 * sender may simply be newer), so it costs no ban score.
 */
export function readVersion(r: Reader, cmd: string): number {
  const version = r.u8('version');
  if (version === 0) throw malformed(`${cmd}: version 0 is invalid`);
  if (version !== VERSION) throw new ProtocolError('unknown-version', `${cmd}: unknown version ${version}`, BanScore.none);
  return version;
}

export interface Header {
  /** The negotiation this message belongs to. */
  nid: Uint8Array;
  /** Position in the negotiation: the propose is 1, every reply one more. */
  seq: number;
  /** Hash of the previous message of this negotiation (zeros for the propose). */
  prev: Uint8Array;
  /** Unix time (seconds) after which the message is void. */
  expiry: number;
}

export const HEADER_SIZE = 1 + NID_SIZE + 4 + 32 + 4;

/**
 * A message of a negotiation: version, header, a type-specific body, and the
 * sender's signature over everything before it. The header's seq and prev
 * chain each message to the one it answers, so a message cannot be replayed
 * later in the same negotiation or spliced into another one.
 */
export abstract class NegotiationPacket extends SignedMessage implements Packet {
  abstract readonly cmd: PacketType;
  nid: Uint8Array;
  seq: number;
  prev: Uint8Array;
  expiry: number;

  constructor(header: Header) {
    super();
    this.nid = header.nid;
    this.seq = header.seq;
    this.prev = header.prev;
    this.expiry = header.expiry;
  }

  protected abstract getBodySize(): number;
  protected abstract writeBody(w: Writer): void;

  getSize(): number {
    return HEADER_SIZE + this.getBodySize() + SIG_SIZE;
  }

  /** Everything but the signature. The message's hash() is the next message's `prev`. */
  signedBytes(): Buffer {
    const w = new Writer(HEADER_SIZE + this.getBodySize());
    w.u8(VERSION).bytes(this.nid).u32(this.seq).bytes(this.prev).u32(this.expiry);
    this.writeBody(w);
    return w.render();
  }

  protected signingDomain(): string {
    return domainOf(this.cmd);
  }

  /** True if `publicKey` (the party expected to send it) signed this message. */
  verify(publicKey: Uint8Array): boolean {
    return this.verifyBy(publicKey);
  }

  /** Reads version and header; the subclass then reads its body and calls `readSignature`. */
  static readHeader(r: Reader, cmd: PacketType): Header {
    readVersion(r, cmd);
    const header: Header = {
      nid: r.bytes(NID_SIZE, 'negotiation id'),
      seq: r.u32('seq'),
      prev: r.bytes(32, 'prev'),
      expiry: r.u32('expiry'),
    };
    if (header.seq === 0) throw malformed(`${cmd}: seq starts at 1`);
    return header;
  }

  protected readSignature(r: Reader): this {
    this.signature = r.bytes(SIG_SIZE, 'signature');
    r.end(this.cmd);
    return this;
  }
}
