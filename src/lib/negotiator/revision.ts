/**
 * The commitment revision (docs/protocol.md §10): what a contract's host
 * stores, as both parties sign it. It carries the contract root over the
 * contract's sectors (src/lib/crypto/merkle.ts), so a challenge can be
 * answered only from the data itself; the revision number orders the
 * commitments, the latest one being in force.
 *
 *   0    1  version = 1
 *   1   32  contract id
 *   33   4  u32 revision number, >= 1
 *   37   4  u32 sector count
 *   41   8  u64 total bytes
 *   49  32  contract root
 *   81  64  renter's signature of bytes 0..81
 *   145 64  host's signature of bytes 0..81
 *
 * 209 bytes, one encoding. A signature not made yet is 64 zero bytes (never a
 * valid signature): the renter sends the host a revision with its own
 * signature only, and gets it back with both.
 */
import { SIG_SIZE, sign, verify } from '../crypto/sig.js';
import { EMPTY_CONTRACT_ROOT, MAX_SECTOR_SIZE, contractRoot, type SectorLeaf } from '../crypto/merkle.js';
import { malformed } from '../net/errors.js';
import { VERSION } from '../net/packet.js';
import { contractIdOf, type Terms } from '../net/terms.js';
import { Reader, Writer } from '../net/wire.js';

export const REVISION_DOMAIN = 'cloudcoin/revision';
const SIGNED_SIZE = 1 + 32 + 4 + 4 + 8 + 32;
export const REVISION_SIZE = SIGNED_SIZE + 2 * SIG_SIZE;
const U32_MAX = 0xffffffff;
const UNSIGNED = new Uint8Array(SIG_SIZE);

export interface RevisionFields {
  contractId: Uint8Array;
  /** Orders a contract's commitments; from 1, strictly increasing. */
  revision: number;
  sectorCount: number;
  /** Sum of the sectors' sizes; at most the contract's size. */
  totalBytes: number;
  /** The contract root over the sectors (crypto/merkle.ts contractRoot). */
  root: Uint8Array;
}

function _isZero(b: Uint8Array): boolean {
  return b.every((x) => x === 0);
}

/** A commitment revision, unsigned, signed by the renter, or by both. */
export class Revision implements RevisionFields {
  contractId: Uint8Array;
  revision: number;
  sectorCount: number;
  totalBytes: number;
  root: Uint8Array;
  renterSig: Uint8Array = new Uint8Array(UNSIGNED);
  hostSig: Uint8Array = new Uint8Array(UNSIGNED);

  constructor(fields: RevisionFields) {
    this.contractId = fields.contractId;
    this.revision = fields.revision;
    this.sectorCount = fields.sectorCount;
    this.totalBytes = fields.totalBytes;
    this.root = fields.root;
  }

  /**
   * The revision committing to `sectors` (any order), unsigned.
   * @example Revision.fromSectors(cid, 4, await client.roots(cid)).signAsRenter(renterKey)
   */
  static fromSectors(contractId: Uint8Array, revision: number, sectors: readonly SectorLeaf[]): Revision {
    const rev = new Revision({
      contractId,
      revision,
      sectorCount: sectors.length,
      totalBytes: sectors.reduce((sum, s) => sum + s.size, 0),
      root: contractRoot(sectors),
    });
    rev.check();
    return rev;
  }

  /**
   * Stateless sanity; throws a `malformed` ProtocolError. The totals must be
   * possible for that many sectors, and no sectors means the empty root.
   */
  check(): void {
    if (!(this.contractId instanceof Uint8Array) || this.contractId.length !== 32) throw malformed('revision: contract id must be 32 bytes');
    if (!(this.root instanceof Uint8Array) || this.root.length !== 32) throw malformed('revision: root must be 32 bytes');
    if (!Number.isInteger(this.revision) || this.revision < 1 || this.revision > U32_MAX) throw malformed(`revision: number must be 1 to ${U32_MAX}, got ${this.revision}`);
    if (!Number.isInteger(this.sectorCount) || this.sectorCount < 0 || this.sectorCount > U32_MAX) throw malformed(`revision: sector count out of range: ${this.sectorCount}`);
    if (!Number.isSafeInteger(this.totalBytes) || this.totalBytes < this.sectorCount || this.totalBytes > this.sectorCount * MAX_SECTOR_SIZE) {
      throw malformed(`revision: ${this.totalBytes} bytes cannot fill ${this.sectorCount} sectors`);
    }
    if (this.sectorCount === 0 && !Buffer.from(this.root).equals(EMPTY_CONTRACT_ROOT)) throw malformed('revision: no sectors but a non-empty root');
    if (this.renterSig.length !== SIG_SIZE || this.hostSig.length !== SIG_SIZE) throw malformed('revision: signatures must be 64 bytes');
  }

  /** The 81 bytes both parties sign. */
  signedBytes(): Buffer {
    this.check();
    return new Writer(SIGNED_SIZE)
      .u8(VERSION)
      .bytes(this.contractId)
      .u32(this.revision)
      .u32(this.sectorCount)
      .u64(this.totalBytes)
      .bytes(this.root)
      .render();
  }

  getSize(): number {
    return REVISION_SIZE;
  }

  encode(): Buffer {
    return Buffer.concat([this.signedBytes(), this.renterSig, this.hostSig]);
  }

  static decode(data: Uint8Array): Revision {
    const r = new Reader(data);
    const version = r.u8('version');
    if (version !== VERSION) throw malformed(`revision: unknown version ${version}`);
    const rev = new Revision({
      contractId: r.bytes(32, 'contract id'),
      revision: r.u32('revision number'),
      sectorCount: r.u32('sector count'),
      totalBytes: r.u64('total bytes'),
      root: r.bytes(32, 'root'),
    });
    rev.renterSig = r.bytes(SIG_SIZE, 'renter sig');
    rev.hostSig = r.bytes(SIG_SIZE, 'host sig');
    r.end('revision');
    rev.check();
    return rev;
  }

  signAsRenter(secretKey: Uint8Array): this {
    this.renterSig = sign(REVISION_DOMAIN, this.signedBytes(), secretKey);
    return this;
  }

  signAsHost(secretKey: Uint8Array): this {
    this.hostSig = sign(REVISION_DOMAIN, this.signedBytes(), secretKey);
    return this;
  }

  get renterSigned(): boolean {
    return !_isZero(this.renterSig);
  }

  get hostSigned(): boolean {
    return !_isZero(this.hostSig);
  }

  verifyRenter(renterKey: Uint8Array): boolean {
    return verify(REVISION_DOMAIN, this.signedBytes(), this.renterSig, renterKey);
  }

  verifyHost(hostKey: Uint8Array): boolean {
    return verify(REVISION_DOMAIN, this.signedBytes(), this.hostSig, hostKey);
  }

  /**
   * Throws a `malformed` ProtocolError unless the revision is for this
   * contract and commits no more bytes than it rents. Signatures, and
   * whether the number is above the latest, are the holder's checks.
   */
  checkFor(terms: Terms): void {
    if (!contractIdOf(terms).equals(this.contractId)) throw malformed('revision: for another contract');
    if (this.totalBytes > terms.size) throw malformed(`revision: ${this.totalBytes} bytes committed, the contract rents ${terms.size}`);
  }

  /** Both parties of `terms` signed it. */
  verify(terms: Terms): boolean {
    return this.verifyRenter(terms.renterKey) && this.verifyHost(terms.hostKey);
  }
}
