/**
 * A message that ends with a signature over everything before it, under a
 * domain of its own (see crypto/sig.ts). Offers, negotiation messages and
 * rating records are all of this shape; their hash covers the signature too,
 * which is safe because signatures are low-S compact and so not malleable.
 */
import { createHash } from 'node:crypto';
import { SIG_SIZE, sign, verify } from '../crypto/sig.js';

export abstract class SignedMessage {
  signature: Uint8Array = new Uint8Array(SIG_SIZE);

  /** The signing domain; one per message type. */
  protected abstract signingDomain(): string;
  /** Everything the signature covers. */
  abstract signedBytes(): Buffer;

  encode(): Buffer {
    return Buffer.concat([this.signedBytes(), this.signature]);
  }

  hash(): Buffer {
    return createHash('sha256').update(this.encode()).digest();
  }

  sign(secretKey: Uint8Array): this {
    this.signature = sign(this.signingDomain(), this.signedBytes(), secretKey);
    return this;
  }

  protected verifyBy(publicKey: Uint8Array): boolean {
    return verify(this.signingDomain(), this.signedBytes(), this.signature, publicKey);
  }
}
