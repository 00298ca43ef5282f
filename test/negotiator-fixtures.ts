/**
 * Shared fixtures for the negotiator's tests and bench: identities, wallet
 * coins, signed contracts, funding transactions and in-memory bcoin blocks —
 * everything real bcoin objects, no node needed.
 */
import type { ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { generateKeyPair, publicKeyOf, type KeyPair } from '../src/lib/crypto/sig.js';
import { ProtocolError } from '../src/lib/net/errors.js';
import type { FundingCoin, FundingPart } from '../src/lib/net/funding.js';
import {
  AcceptPacket, CounterPacket, FundPacket, FundSigPacket, GetOfferPacket, InvPacket, OfferPacket, PayAckPacket, PayPacket,
  ProposePacket, RefusePacket, SignPacket, decode, type AnyPacket,
} from '../src/lib/net/packets.js';
import type { NegotiationPacket } from '../src/lib/net/packet.js';
import { RefuseReason } from '../src/lib/net/refuse.js';
import { collateralOf, contractIdOf, paymentOf, type Terms } from '../src/lib/net/terms.js';
import { MTX, Script, type BBlock, type BMTX, type BScript, type BTX } from '../src/lib/chain/primitives.js';
import { assembleFunding, cooperativeWitness, feeShares, signEscrowInput, spendEscrow } from '../src/lib/negotiator/escrow.js';
import { Negotiator, type FundingWallet, type HostOptions } from '../src/lib/negotiator/negotiator.js';
import { OfferPool } from '../src/lib/negotiator/offerpool.js';
import { HostPolicy, type HostLimits } from '../src/lib/negotiator/policy.js';
import { ContractRecord, RatingRecord, signTerms } from '../src/lib/negotiator/records.js';

const require = createRequire(import.meta.url);
const KeyRing = require('bcoin/lib/primitives/keyring.js');
const Block = require('bcoin/lib/primitives/block.js');

export interface Party {
  /** Identity key: signs negotiation messages, the contract and ratings; sits in the escrow script. */
  id: KeyPair;
  /** Wallet key (P2WPKH) that owns the party's coins and change. */
  ring: { getProgram(): BScript };
  program: BScript;
}

export function party(): Party {
  const ring = KeyRing.fromPrivate(randomBytes(32), true);
  ring.witness = true;
  return { id: generateKeyPair(), ring, program: ring.getProgram() };
}

export function coin(p: Party, value: number): FundingCoin {
  return { hash: randomBytes(32), index: 0, value, script: p.program.toRaw() };
}

export function termsOf(renter: Party, host: Party, over: Partial<Terms> = {}): Terms {
  return {
    renterKey: renter.id.publicKey,
    hostKey: host.id.publicKey,
    nid: randomBytes(32),
    size: 10 * 1024 ** 3,
    startHeight: 10,
    duration: 4320,
    price: 100_000,
    collateral: 200_000,
    ...over,
  };
}

export function contractOf(renter: Party, host: Party, over: Partial<Terms> = {}): ContractRecord {
  const terms = termsOf(renter, host, over);
  return new ContractRecord(terms, signTerms(terms, renter.id.secretKey), signTerms(terms, host.id.secretKey));
}

/** A share paying `amount` plus fee share from one coin, with change back to the party. */
export function shareOf(p: Party, amount: number, feeShare: number, extra = 50_000): FundingPart {
  return { coins: [coin(p, amount + feeShare + extra)], changeScript: p.program.toRaw(), changeValue: extra };
}

/** A fully signed funding transaction for `record` (both parties sign their inputs). */
export function fundingOf(record: ContractRecord, renter: Party, host: Party, fee = 2000): BMTX {
  const shares = feeShares(fee);
  const mtx = assembleFunding({
    record,
    renter: shareOf(renter, paymentOf(record.terms), shares.renter),
    host: shareOf(host, collateralOf(record.terms), shares.host),
    fee,
  });
  mtx.sign(renter.ring);
  mtx.sign(host.ring);
  return mtx;
}

/** A transaction carrying one rating record in an OP_RETURN (its input is a dummy coin). */
export function ratingTx(rating: RatingRecord): BTX {
  const mtx = new MTX();
  mtx.addCoin(require('bcoin/lib/primitives/coin.js').fromOptions({ value: 10_000, script: Script.fromRaw(Buffer.alloc(0)), hash: randomBytes(32).toString('hex'), index: 0 }));
  mtx.addOutput(Script.fromNulldata(rating.encode()), 0);
  return mtx.toTX();
}

export function rate(record: ContractRecord, rater: Party, score: number, comment = ''): RatingRecord {
  return new RatingRecord({ contractId: record.id(), raterKey: rater.id.publicKey, score, comment }).sign(rater.id.secretKey);
}

/** A chain of in-memory blocks: each with a coinbase and the given transactions. */
export class TestChain {
  blocks: BBlock[] = [];
  private tag = 0;

  /** A block on top of `prev` (default: the last block) without appending it. */
  make(txs: BTX[], prev: BBlock | null = this.blocks.at(-1) ?? null): BBlock {
    const cb = new MTX();
    cb.addInput({ prevout: { hash: '00'.repeat(32), index: 0xffffffff }, script: Script.fromRaw(Buffer.from(`cb${this.tag++}`)) });
    cb.addOutput(Script.fromRaw(Buffer.from([0x51])), 50e8);
    const block = new Block({
      version: 1,
      prevBlock: prev ? prev.hash('hex') : '00'.repeat(32),
      merkleRoot: '00'.repeat(32),
      time: 1_700_000_000 + this.tag,
      bits: 0x207fffff,
      nonce: 0,
    });
    block.txs.push(cb.toTX(), ...txs);
    block.merkleRoot = block.createMerkleRoot('hex');
    block.refresh();
    return block;
  }

  add(txs: BTX[] = []): BBlock {
    const block = this.make(txs);
    this.blocks.push(block);
    return block;
  }
}

export type { BMTX };

/** Fixed keys, so signed samples (RFC 6979 signatures) are the same on every run. */
export const FIXED = {
  renter: { secretKey: new Uint8Array(32).fill(1), publicKey: publicKeyOf(new Uint8Array(32).fill(1)) },
  host: { secretKey: new Uint8Array(32).fill(2), publicKey: publicKeyOf(new Uint8Array(32).fill(2)) },
};

export const FIXED_TERMS: Terms = {
  renterKey: FIXED.renter.publicKey,
  hostKey: FIXED.host.publicKey,
  nid: new Uint8Array(32).fill(0xab),
  size: 10 * 1024 ** 3,
  startHeight: 1000,
  duration: 4320,
  price: 100_000,
  collateral: 200_000,
};

/** One deterministic, validly signed sample of every packet type. */
export function samplePackets(): Record<string, AnyPacket> {
  const { renter, host } = FIXED;
  const offer = new OfferPacket({
    flags: 0, hostKey: host.publicKey, sequence: 7, expiry: 1_900_000_000, price: 100_000, collateral: 200_000,
    minSize: 1024 ** 3, maxSize: 1024 ** 4, minDuration: 144, maxDuration: 52_560, url: 'https://host.example:8443/cc',
  }).sign(host.secretKey);
  const h = (seq: number, prev: Uint8Array) => ({ nid: FIXED_TERMS.nid, seq, prev, expiry: 1_900_000_000 });
  const propose = new ProposePacket(h(1, new Uint8Array(32)), offer.hash(), FIXED_TERMS).sign(renter.secretKey);
  const counter = new CounterPacket(h(2, propose.hash()), { ...FIXED_TERMS, price: 120_000 }).sign(host.secretKey);
  const accept = new AcceptPacket(h(2, propose.hash()), signTerms(FIXED_TERMS, host.secretKey)).sign(host.secretKey);
  const signp = new SignPacket(h(3, accept.hash()), signTerms(FIXED_TERMS, renter.secretKey)).sign(renter.secretKey);
  const refuse = new RefusePacket(h(2, propose.hash()), RefuseReason.capacity).sign(host.secretKey);
  const part: FundingPart = {
    coins: [{ hash: new Uint8Array(32).fill(0x11), index: 1, value: 600_000, script: Buffer.concat([Buffer.from([0, 20]), Buffer.alloc(20, 0x22)]) }],
    changeScript: Buffer.concat([Buffer.from([0, 20]), Buffer.alloc(20, 0x33)]),
    changeValue: 1000,
  };
  const fund = new FundPacket(h(4, signp.hash()), 2000, part).sign(renter.secretKey);
  const fundsig = new FundSigPacket(h(5, fund.hash()), part, [[Buffer.alloc(71, 0x30), Buffer.from(host.publicKey)]]).sign(host.secretKey);
  // Escrow signatures are opaque to the packets: DER-shaped bytes and a sighash byte, of the shortest and longest lengths too.
  const der = (length: number, fill: number) => Buffer.concat([Buffer.from([0x30, length - 3]), Buffer.alloc(length - 3, fill), Buffer.from([0x01])]);
  const contractId = contractIdOf(FIXED_TERMS);
  const pay = new PayPacket({
    contractId, seq: 4, windows: 30, proven: 3, missed: 1, expiry: 1_900_000_000, paySig: der(71, 0x51), splitSig: der(72, 0x52),
  }).sign(renter.secretKey);
  const payack = new PayAckPacket({ contractId, seq: 4, paySig: der(70, 0x61), splitSig: der(71, 0x62) }).sign(host.secretKey);
  const payackExtremes = new PayAckPacket({ contractId, seq: 0xffffffff, paySig: der(9, 0x71), splitSig: der(73, 0x72) }).sign(host.secretKey);
  return {
    inv: new InvPacket([offer.hash()]),
    getoffer: new GetOfferPacket([offer.hash(), Buffer.alloc(32, 0x44)]),
    offer,
    'offer-addresses': new OfferPacket({
      flags: 0, hostKey: host.publicKey, sequence: 9, expiry: 1_900_000_000, price: 100_000, collateral: 200_000,
      minSize: 1024 ** 3, maxSize: 1024 ** 4, minDuration: 144, maxDuration: 52_560, url: 'https://host.example:8443/cc',
      addresses: ['203.0.113.7:48444', '[2001:db8::7]:48444', 'node.host.example:48444'],
    }).sign(host.secretKey),
    withdrawal: OfferPacket.withdrawal(host.publicKey, 8, 1_900_000_000).sign(host.secretKey),
    propose, counter, accept, sign: signp, refuse, fund, fundsig, pay, payack, 'payack-extremes': payackExtremes,
  };
}

/** A FundingWallet over fake P2WPKH coins of `p`: every share is one fresh coin with change. */
export function walletOf(p: Party): FundingWallet {
  return {
    share: async (amount: number) => shareOf(p, amount, 0),
    sign: (mtx: BMTX, inputs: number[]) => {
      for (const i of inputs) {
        const coin = mtx.view.getOutput(mtx.inputs[i].prevout);
        if (!coin || !mtx.scriptInput(i, coin, p.ring) || !mtx.signInput(i, coin, p.ring)) throw new Error(`wallet cannot sign input ${i}`);
      }
    },
  };
}

/** Asserts that `fn` throws (or `fn` returns a promise that rejects with) a ProtocolError of this reason and ban score. */
export async function throwsProtocol(t: ExecutionContext, fn: () => unknown, reason: string, score: number): Promise<void> {
  let caught: unknown = null;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  t.true(caught instanceof ProtocolError, `expected a ProtocolError, got ${String(caught)}`);
  t.is((caught as ProtocolError).reason, reason);
  t.is((caught as ProtocolError).score, score);
}

/** A signed offer of `host`, valid for an hour from `now`. */
export function offerBy(host: KeyPair, now: number, over: Partial<OfferPacket> = {}): OfferPacket {
  return new OfferPacket({
    flags: 0, hostKey: host.publicKey, sequence: 1, expiry: now + 3600, price: 100_000, collateral: 200_000,
    minSize: 1024 ** 3, maxSize: 50 * 1024 ** 3, minDuration: 144, maxDuration: 52_560, url: 'http://127.0.0.1:9000', ...over,
  }).sign(host.secretKey);
}

export const HOST_LIMITS: HostLimits = { priceFloor: 50_000, capacity: 100 * 1024 ** 3, maxContracts: 10, maxFee: 10_000 };
export const ASK = { size: 10 * 1024 ** 3, startHeight: 100, duration: 4320, price: 100_000, collateral: 200_000 };
export const RENTER_LIMITS = { maxPrice: 150_000, minCollateral: 100_000 };

export interface World {
  renter: Party;
  host: Party;
  offer: OfferPacket;
  /** The host's offer pool, holding `offer`. */
  pool: OfferPool;
  r: Negotiator;
  h: Negotiator;
}

/** A renter and a host Negotiator at `now`, the host with a live offer in its pool. */
export async function world(now: number, host: Partial<HostOptions> = {}, limits: Partial<HostLimits> = {}, load = { bytes: 0, contracts: 0, height: 100 }, pool = new OfferPool()): Promise<World> {
  const renter = party();
  const hostP = party();
  const offer = offerBy(hostP.id, now);
  await pool.add(offer, now);
  const h = new Negotiator({
    identity: hostP.id, wallet: walletOf(hostP), offers: pool,
    host: { policy: new HostPolicy({ ...HOST_LIMITS, ...limits }), mode: 'auto', load: () => ({ ...load }), ...host },
  });
  const r = new Negotiator({ identity: renter.id, wallet: walletOf(renter), offers: new OfferPool() });
  return { renter, host: hostP, offer, pool, r, h };
}

/** The cooperative close at the end: both sign, the host gets payment and collateral less a 1,000 fee. */
export function closeTx(funding: BTX, record: ContractRecord, renter: Party, host: Party): BTX {
  const { terms } = record;
  const mtx = spendEscrow(funding, terms, ['payment', 'collateral'], [{ script: host.program, value: paymentOf(terms) + collateralOf(terms) - 1000 }]);
  (['payment', 'collateral'] as const).forEach((kind, i) => {
    cooperativeWitness(mtx, i, terms, kind, signEscrowInput(mtx, i, terms, kind, renter.id.secretKey), signEscrowInput(mtx, i, terms, kind, host.id.secretKey));
  });
  return mtx.toTX();
}

/** Sends a packet through the wire encoding, as the node would. */
export function wire(p: NegotiationPacket): NegotiationPacket {
  return decode(p.cmd, p.encode()) as NegotiationPacket;
}

/**
 * Plays messages between the two sides of `w` until neither has anything to
 * send; returns the funding transaction, if one came out, and the commands in order.
 */
export async function playOut(w: World, first: NegotiationPacket[], now: number, toHost = true): Promise<{ tx: BMTX | undefined; log: string[] }> {
  let queue = first;
  let side = toHost;
  let tx: BMTX | undefined;
  const log: string[] = [];
  while (queue.length > 0) {
    const next: NegotiationPacket[] = [];
    for (const p of queue) {
      log.push(p.cmd);
      const out = await (side ? w.h : w.r).handle(wire(p), now);
      next.push(...out.send);
      tx = out.tx ?? tx;
    }
    queue = next;
    side = !side;
  }
  return { tx, log };
}
