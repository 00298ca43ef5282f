/**
 * What the daemon remembers of the fulfilment of its contracts, in the
 * extension's LevelDB sublevel `fulfilment`. Unlike the registry it is this
 * node's own state, not derived from the chain: what the store put on each
 * contract, the windows it challenged, the revisions both parties signed,
 * the settlements and ratings already sent.
 *
 *   key                                    value (JSON)
 *   -------------------------------------  ---------------------------------------------
 *   s [contract id 32]                     renter: the sector ids the store put there
 *   u [host key 33]                        renter: the host's file server URL, from its
 *                                          last offer seen (a withdrawn offer loses none)
 *   c [contract id 32]                     both: latest commitment revision, hex, and
 *                                          (renter) the sectors it commits to
 *   w [contract id 32] [window u16be]      renter: a window's first try, outcome, height
 *   p [contract id 32]                     both: latest payment revision and signatures
 *   b [contract id 32] [kind u8]           both: a settlement sent (1 PAY, 2 SPLIT,
 *                                          3 refund): txid and height
 *   r [contract id 32]                     both: the automatic rating, once published
 *   a                                      both: whether the daemon acts on its own
 *                                          (absent: it does)
 *   n [contract id 32]                     renter: the contract's renewal or replacement
 *   o [contract id 32]                     renter: the contract this one renewed
 *
 * Values are JSON: this state never travels and no other node reads it, so
 * its format is free to grow a field.
 */
import type { RegistryDB } from '../undo.js';
import { range } from '../layout.js';

export type WindowOutcome = 'proven' | 'missed';

export interface WindowState {
  /** Height at which the renter first challenged the window: its deadline is at least one window later. */
  firstTry: number;
  outcome: WindowOutcome | null;
  /** Height at which the outcome was decided. */
  height: number | null;
}

/** The latest payment revision of a contract, as either side holds it; signatures hex. */
export interface PaymentState {
  seq: number;
  windows: number;
  proven: number;
  missed: number;
  /** The ccpay as sent (renter) or received (host), hex: a retransmit of it is recognised. */
  packet: string;
  /** The renter's escrow signatures of the host variants. */
  renterPay: string;
  renterSplit: string;
  /** Unix time the renter sent it, to send it again while no answer came. */
  sentAt: number;
  /** The latest revision the host acknowledged (this one or an earlier one). */
  acked: AckedPayment | null;
}

/** A sector as a commitment revision covers it: root hex. */
export interface CommittedSector {
  id: string;
  size: number;
  root: string;
}

export interface CommitmentState {
  /** The revision with both signatures, hex. */
  revision: string;
  /** Sorted by id; empty on the host, which holds the sectors themselves. */
  sectors: CommittedSector[];
}

/** What the host acknowledged of a payment revision: the renter variants it signed. */
export interface AckedPayment {
  seq: number;
  proven: number;
  missed: number;
  hostPay: string;
  hostSplit: string;
}

export const SentKind = { PAY: 1, SPLIT: 2, REFUND: 3 } as const;
export type SentKindValue = (typeof SentKind)[keyof typeof SentKind];

export interface SentSettlement {
  txid: string;
  height: number;
}

/** What the renter's daemon did about a contract inside its renew window (renter-upkeep.ts). */
export interface RenewalState {
  /** negotiated: a new contract with the same host is funded, its sectors not carried over yet. */
  state: 'negotiated' | 'carried' | 'replaced';
  hostKey: string;
  /** The new contract: with the same host, or (replaced) with another; null when none could be made. */
  to: string | null;
  /** Why the host was replaced. */
  reason: string | null;
  /** Carried: sha256 of the old contract's sector set as it was carried, so a change to it is carried again. */
  carriedSet?: string;
}

function _key(prefix: string, ...parts: Uint8Array[]): Buffer {
  return Buffer.concat([Buffer.from(prefix, 'ascii'), ...parts]);
}

function _u16be(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

export const fulfilmentLayout = {
  s: (id: Uint8Array) => _key('s', id),
  u: (hostKey: Uint8Array) => _key('u', hostKey),
  c: (id: Uint8Array) => _key('c', id),
  w: (id: Uint8Array, window?: number) => _key('w', id, ...(window === undefined ? [] : [_u16be(window)])),
  p: (id: Uint8Array) => _key('p', id),
  b: (id: Uint8Array, kind: SentKindValue) => _key('b', id, Buffer.from([kind])),
  r: (id: Uint8Array) => _key('r', id),
  a: Buffer.from('a'),
  n: (id: Uint8Array) => _key('n', id),
  o: (id: Uint8Array) => _key('o', id),
} as const;

export class FulfilmentStore {
  constructor(private readonly db: RegistryDB) {}

  open(): Promise<void> {
    return this.db.open();
  }

  close(): Promise<void> {
    return this.db.close();
  }

  private async _get<T>(key: Buffer): Promise<T | null> {
    const raw = await this.db.get(key);
    return raw ? (JSON.parse(raw.toString('utf8')) as T) : null;
  }

  private _put(key: Buffer, value: unknown): Promise<void> {
    return this.db.batch([{ type: 'put', key, value: Buffer.from(JSON.stringify(value), 'utf8') }]);
  }

  /** The sector ids the renter's store expects on a contract; null if it never said. */
  async expectedSectors(id: Uint8Array): Promise<string[] | null> {
    return (await this._get<{ ids: string[] }>(fulfilmentLayout.s(id)))?.ids ?? null;
  }

  setExpectedSectors(id: Uint8Array, ids: string[]): Promise<void> {
    return this._put(fulfilmentLayout.s(id), { ids: [...new Set(ids)].sort() });
  }

  async hostUrl(hostKey: Uint8Array): Promise<string | null> {
    return (await this._get<{ url: string }>(fulfilmentLayout.u(hostKey)))?.url ?? null;
  }

  setHostUrl(hostKey: Uint8Array, url: string): Promise<void> {
    return this._put(fulfilmentLayout.u(hostKey), { url });
  }

  commitment(id: Uint8Array): Promise<CommitmentState | null> {
    return this._get<CommitmentState>(fulfilmentLayout.c(id));
  }

  setCommitment(id: Uint8Array, state: CommitmentState): Promise<void> {
    return this._put(fulfilmentLayout.c(id), state);
  }

  window(id: Uint8Array, w: number): Promise<WindowState | null> {
    return this._get<WindowState>(fulfilmentLayout.w(id, w));
  }

  setWindow(id: Uint8Array, w: number, state: WindowState): Promise<void> {
    return this._put(fulfilmentLayout.w(id, w), state);
  }

  /** Every window of a contract the renter has tried, by window number. */
  async windows(id: Uint8Array): Promise<Map<number, WindowState>> {
    const prefix = fulfilmentLayout.w(id);
    const out = new Map<number, WindowState>();
    for await (const [k, v] of this.db.iterator(range(prefix))) out.set(k.readUInt16BE(prefix.length), JSON.parse(v.toString('utf8')) as WindowState);
    return out;
  }

  payment(id: Uint8Array): Promise<PaymentState | null> {
    return this._get<PaymentState>(fulfilmentLayout.p(id));
  }

  setPayment(id: Uint8Array, state: PaymentState): Promise<void> {
    return this._put(fulfilmentLayout.p(id), state);
  }

  sent(id: Uint8Array, kind: SentKindValue): Promise<SentSettlement | null> {
    return this._get<SentSettlement>(fulfilmentLayout.b(id, kind));
  }

  setSent(id: Uint8Array, kind: SentKindValue, sent: SentSettlement): Promise<void> {
    return this._put(fulfilmentLayout.b(id, kind), sent);
  }

  async automatic(): Promise<boolean> {
    return (await this._get<{ automatic: boolean }>(fulfilmentLayout.a))?.automatic ?? true;
  }

  setAutomatic(automatic: boolean): Promise<void> {
    return this._put(fulfilmentLayout.a, { automatic });
  }

  async rated(id: Uint8Array): Promise<boolean> {
    return (await this.db.get(fulfilmentLayout.r(id))) !== undefined;
  }

  setRated(id: Uint8Array, txid: string): Promise<void> {
    return this._put(fulfilmentLayout.r(id), { txid });
  }

  renewal(id: Uint8Array): Promise<RenewalState | null> {
    return this._get<RenewalState>(fulfilmentLayout.n(id));
  }

  /** Records what became of contract `id`, and on a renewal the link back from the new contract. */
  setRenewal(id: Uint8Array, renewal: RenewalState): Promise<void> {
    const ops = [{ type: 'put' as const, key: fulfilmentLayout.n(id), value: Buffer.from(JSON.stringify(renewal), 'utf8') }];
    if (renewal.to !== null) ops.push({ type: 'put', key: fulfilmentLayout.o(Buffer.from(renewal.to, 'hex')), value: Buffer.from(JSON.stringify({ from: Buffer.from(id).toString('hex') }), 'utf8') });
    return this.db.batch(ops);
  }

  /** The contract that `id` renewed or replaced; null for one made afresh. */
  async renewedFrom(id: Uint8Array): Promise<string | null> {
    return (await this._get<{ from: string }>(fulfilmentLayout.o(id)))?.from ?? null;
  }
}
