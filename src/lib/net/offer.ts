/**
 * ccoffer: a host's signed offer of storage. Offers spread like
 * transactions (announced by hash in ccinv, fetched with ccgetoffer). A host
 * keeps one live offer: a new one with a higher sequence replaces it, and a
 * withdrawal is an offer with the WITHDRAWN flag, a higher sequence and
 * zeroed terms, which spreads the same way and removes the old one.
 */
import { PUBKEY_SIZE, SIG_SIZE } from '../crypto/sig.js';
import { malformed } from './errors.js';
import { VERSION, domainOf, readVersion, types, type Packet } from './packet.js';
import { SignedMessage } from './signed.js';
import { MAX_MONEY } from './terms.js';
import { Reader, Writer } from './wire.js';

export const MAX_URL_SIZE = 200;
/** Node addresses an offer carries at most, and the longest one (`[IPv6]:port`, or a DNS name and port). */
export const MAX_ADDRESSES = 4;
export const MAX_ADDRESS_SIZE = 64;
/** Fixed part (everything but the URL bytes and the addresses). */
const FIXED_SIZE = 1 + 1 + PUBKEY_SIZE + 4 + 4 + 8 * 4 + 4 + 4 + 1 + SIG_SIZE;
export const MAX_OFFER_SIZE = FIXED_SIZE + MAX_URL_SIZE + 1 + MAX_ADDRESSES * (1 + MAX_ADDRESS_SIZE);
export const OFFER_WITHDRAWN = 1;
/** The offer lists its host node's P2P addresses after the URL (docs/protocol.md §2.2). */
export const OFFER_ADDRESSES = 2;

export interface OfferFields {
  flags: number;
  hostKey: Uint8Array;
  /** Higher replaces lower for the same host key. */
  sequence: number;
  /** Unix time (seconds) after which the offer is void. */
  expiry: number;
  /** Price per GiB per month. */
  price: number;
  /** Collateral per GiB per month. */
  collateral: number;
  minSize: number;
  maxSize: number;
  /** In blocks. */
  minDuration: number;
  maxDuration: number;
  /** The host's file server, http(s)://… ; empty for a withdrawal. */
  url: string;
  /**
   * Where the host's node takes P2P connections, `host:port` (IPv4, `[IPv6]`
   * or a DNS name), so a renter never connected to it can dial it to
   * negotiate; at most MAX_ADDRESSES, none for a withdrawal. Sets or clears
   * the OFFER_ADDRESSES flag.
   */
  addresses?: string[];
}

// Printable ASCII only: the URL is shown to users and handed to HTTP clients.
const URL_RE = /^https?:\/\/[\x21-\x7e]+$/;
// host:port with a port of 1-65535: a dotted IPv4, a bracketed IPv6 or a DNS name.
const ADDRESS_RE = /^(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):([1-9]\d{0,4})$/;

/** Whether `text` is an address an offer may carry (see OfferFields.addresses). */
export function isOfferAddress(text: string): boolean {
  const m = ADDRESS_RE.exec(text);
  return m !== null && text.length <= MAX_ADDRESS_SIZE && Number(m[1]) <= 65535;
}

export class OfferPacket extends SignedMessage implements Packet, OfferFields {
  readonly cmd = types.OFFER;
  flags: number;
  hostKey: Uint8Array;
  sequence: number;
  expiry: number;
  price: number;
  collateral: number;
  minSize: number;
  maxSize: number;
  minDuration: number;
  maxDuration: number;
  url: string;
  addresses: string[];

  constructor(fields: OfferFields) {
    super();
    this.addresses = fields.addresses ?? [];
    this.flags = this.addresses.length > 0 ? fields.flags | OFFER_ADDRESSES : fields.flags & ~OFFER_ADDRESSES;
    this.hostKey = fields.hostKey;
    this.sequence = fields.sequence;
    this.expiry = fields.expiry;
    this.price = fields.price;
    this.collateral = fields.collateral;
    this.minSize = fields.minSize;
    this.maxSize = fields.maxSize;
    this.minDuration = fields.minDuration;
    this.maxDuration = fields.maxDuration;
    this.url = fields.url;
  }

  /** A withdrawal of every earlier offer of `hostKey`. */
  static withdrawal(hostKey: Uint8Array, sequence: number, expiry: number): OfferPacket {
    return new OfferPacket({
      flags: OFFER_WITHDRAWN, hostKey, sequence, expiry,
      price: 0, collateral: 0, minSize: 0, maxSize: 0, minDuration: 0, maxDuration: 0, url: '',
    });
  }

  get withdrawn(): boolean {
    return (this.flags & OFFER_WITHDRAWN) !== 0;
  }

  getSize(): number {
    const addresses = this.addresses.length === 0 ? 0 : 1 + this.addresses.reduce((n, a) => n + 1 + Buffer.byteLength(a, 'latin1'), 0);
    return FIXED_SIZE + Buffer.byteLength(this.url, 'latin1') + addresses;
  }

  signedBytes(): Buffer {
    const w = new Writer(this.getSize() - SIG_SIZE);
    w.u8(VERSION)
      .u8(this.flags)
      .bytes(this.hostKey)
      .u32(this.sequence)
      .u32(this.expiry)
      .u64(this.price)
      .u64(this.collateral)
      .u64(this.minSize)
      .u64(this.maxSize)
      .u32(this.minDuration)
      .u32(this.maxDuration)
      .bytes8(Buffer.from(this.url, 'latin1'));
    if (this.addresses.length > 0) {
      w.u8(this.addresses.length);
      for (const a of this.addresses) w.bytes8(Buffer.from(a, 'latin1'));
    }
    return w.render();
  }

  protected signingDomain(): string {
    return domainOf(this.cmd);
  }

  /** The offer's own host key signed it. (Its hash(), over the whole encoding, is its id.) */
  verify(): boolean {
    return this.verifyBy(this.hostKey);
  }

  /** Stateless sanity (no clock, no pool): ranges and a URL we would dial. */
  check(): void {
    if ((this.flags & ~(OFFER_WITHDRAWN | OFFER_ADDRESSES)) !== 0) throw malformed(`ccoffer: unknown flags ${this.flags}`);
    if (this.hostKey.length !== PUBKEY_SIZE || (this.hostKey[0] !== 2 && this.hostKey[0] !== 3))
      throw malformed('ccoffer: host key is not a compressed secp256k1 point');
    if (this.withdrawn) {
      const zero = this.price + this.collateral + this.minSize + this.maxSize + this.minDuration + this.maxDuration;
      if (zero !== 0 || this.url !== '' || this.addresses.length > 0) throw malformed('ccoffer: a withdrawal carries no terms');
      return;
    }
    if (this.price > MAX_MONEY || this.collateral > MAX_MONEY) throw malformed('ccoffer: price above the money supply');
    if (this.minSize < 1 || this.minSize > this.maxSize) throw malformed('ccoffer: size range is empty');
    if (this.minDuration < 1 || this.minDuration > this.maxDuration) throw malformed('ccoffer: duration range is empty');
    if (!URL_RE.test(this.url)) throw malformed('ccoffer: URL must be http(s) and printable ASCII');
    if (this.addresses.length > MAX_ADDRESSES) throw malformed(`ccoffer: more than ${MAX_ADDRESSES} addresses`);
    for (const a of this.addresses) if (!isOfferAddress(a)) throw malformed('ccoffer: an address must be host:port');
  }

  static decode(data: Uint8Array): OfferPacket {
    const r = new Reader(data);
    readVersion(r, types.OFFER);
    const flags = r.u8('flags');
    const fields: OfferFields = {
      flags,
      hostKey: r.bytes(PUBKEY_SIZE, 'host key'),
      sequence: r.u32('sequence'),
      expiry: r.u32('expiry'),
      price: r.u64('price'),
      collateral: r.u64('collateral'),
      minSize: r.u64('min size'),
      maxSize: r.u64('max size'),
      minDuration: r.u32('min duration'),
      maxDuration: r.u32('max duration'),
      url: r.bytes8(MAX_URL_SIZE, 'url').toString('latin1'),
    };
    if (flags & OFFER_ADDRESSES) {
      const count = r.u8('address count');
      if (count === 0 || count > MAX_ADDRESSES) throw malformed(`ccoffer: address count must be 1..${MAX_ADDRESSES}`);
      fields.addresses = Array.from({ length: count }, () => r.bytes8(MAX_ADDRESS_SIZE, 'address').toString('latin1'));
    }
    const offer = new OfferPacket(fields);
    offer.signature = r.bytes(SIG_SIZE, 'signature');
    r.end(types.OFFER);
    offer.check();
    return offer;
  }
}
