/**
 * What fulfilment costs in CPU: a host proving a challenged segment of a
 * 4 MiB sector and the renter verifying it, beside sha256 of the same 4 MiB;
 * and the renter daemon's work per window for 1,000 contracts (derive the
 * challenge, verify the proof, check the root of one whole sector, build and
 * sign PAY and SPLIT, sign and encode the ccpay), beside 1,000 bare ECDSA
 * signatures.
 */
import { createHash, randomBytes } from 'node:crypto';
import { MAX_SECTOR_SIZE, merkleProof, merkleRoot, verifyMerkleProof, segmentCount } from '../src/lib/crypto/merkle.js';
import { generateKeyPair, sign } from '../src/lib/crypto/sig.js';
import type { BTX } from '../src/lib/chain/primitives.js';
import { PayPacket } from '../src/lib/net/pay.js';
import { contractIdOf, type Terms } from '../src/lib/net/terms.js';
import { buildSettlement, signSettlement, verifySettlementSig, type SettlementKind } from '../src/lib/negotiator/settlement.js';
import { challengeOf } from '../src/lib/negotiator/windows.js';
import { contractOf, fundingOf, party } from '../test/negotiator-fixtures.js';
import type { BenchSuite, Figure } from './harness.js';

const CONTRACTS = 1000;
/** Distinct contracts the 1,000 are made of: building their signed funding transactions is slow, and no step caches across contracts. */
const DISTINCT = 50;
/** A 1 GiB contract of full sectors. */
const SECTORS = 256;
const WINDOWS = 30;
const KINDS: SettlementKind[] = ['pay', 'split'];

/** Milliseconds one call of `fn` takes, the median of `runs` runs (after one warm-up). */
function msPer(fn: () => void, runs: number): number {
  fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)];
}

function sectorProofs(): Figure[] {
  const sector = randomBytes(MAX_SECTOR_SIZE);
  const segments = segmentCount(sector.length);
  const sha = msPer(() => createHash('sha256').update(sector).digest(), 20);
  const ref = { name: 'sha256 of 4 MiB (node:crypto)', value: sha, unit: 'ms' };
  let i = 0;
  const prove = msPer(() => merkleProof(sector, i++ % segments), 5);
  const root = merkleRoot(sector);
  // A proof costs a whole tree to make; a few segments, each verified many times, give the verifying cost.
  const proofs = Array.from({ length: 4 }, (_, k) => merkleProof(sector, (k * 16_411) % segments).proof);
  const rounds = 250;
  const verify = msPer(() => {
    for (let r = 0; r < rounds; r++) for (const p of proofs) if (!verifyMerkleProof(root, p)) throw new Error('a valid proof did not verify');
  }, 5) / (rounds * proofs.length);
  return [
    { name: 'host: prove a segment of a 4 MiB sector', value: prove, unit: 'ms', reference: ref },
    { name: 'renter: verify a segment proof (16 levels)', value: verify * 1000, unit: 'µs', reference: { ...ref, value: sha * 1000, unit: 'µs' } },
  ];
}

interface Contract { terms: Terms; id: Buffer; funding: BTX; renterSecret: Uint8Array; hostSecret: Uint8Array; hostKey: Uint8Array }

/** CONTRACTS contracts, DISTINCT of them each repeated. */
function contracts(): Contract[] {
  const distinct = Array.from({ length: DISTINCT }, () => {
    const renter = party();
    const host = party();
    const record = contractOf(renter, host, { duration: WINDOWS * 144 });
    return {
      terms: record.terms, id: contractIdOf(record.terms), funding: fundingOf(record, renter, host).toTX(),
      renterSecret: renter.id.secretKey, hostSecret: host.id.secretKey, hostKey: host.id.publicKey,
    };
  });
  return Array.from({ length: CONTRACTS }, (_, i) => distinct[i % DISTINCT]);
}

function renterWindow(): Figure[] {
  const all = contracts();
  const blockHash = randomBytes(32);
  const sectors = Array.from({ length: SECTORS }, () => ({ id: randomBytes(32).toString('hex'), size: MAX_SECTOR_SIZE }));
  // One real proof stands for every host's answer: verifying costs the same whichever segment it is.
  const sector = randomBytes(MAX_SECTOR_SIZE);
  const { root, proof } = merkleProof(sector, 12_345);
  const state = { windows: WINDOWS, proven: 7, missed: 1, seq: 8 };
  const expiry = Math.floor(Date.now() / 1000) + 3600;

  const challenge = msPer(() => {
    for (const c of all) challengeOf(blockHash, c.id, 7, sectors);
  }, 3);
  const verify = msPer(() => {
    for (let i = 0; i < all.length; i++) if (!verifyMerkleProof(root, proof)) throw new Error('a valid proof did not verify');
  }, 3);
  // Each window the renter also fetches one sector whole and checks its root; one root, measured, times the contracts.
  const whole = msPer(() => merkleRoot(sector), 3) * CONTRACTS;
  const pay = msPer(() => {
    for (const c of all) {
      const [paySig, splitSig] = KINDS.map((kind) => signSettlement(buildSettlement(kind, 'host', c.funding, c.terms, state), kind, c.terms, c.renterSecret));
      new PayPacket({ contractId: c.id, ...state, expiry, paySig, splitSig }).sign(c.renterSecret).encode();
    }
  }, 1);
  // The host's ccpayack: its signatures of the renter variants, checked before the renter counts on them.
  const acks = all.slice(0, DISTINCT).map((c) => KINDS.map((kind) => {
    const mtx = buildSettlement(kind, 'renter', c.funding, c.terms, state);
    return { c, kind, mtx, sig: signSettlement(mtx, kind, c.terms, c.hostSecret) };
  }));
  const ack = (msPer(() => {
    for (const pair of acks) {
      for (const a of pair) {
        const mtx = buildSettlement(a.kind, 'renter', a.c.funding, a.c.terms, state);
        if (!verifySettlementSig(mtx, a.kind, a.c.terms, a.sig, a.c.hostKey)) throw new Error('a valid ack signature did not verify');
      }
    }
  }, 1) * CONTRACTS) / acks.length;

  const k = generateKeyPair();
  const digests = Array.from({ length: CONTRACTS }, () => randomBytes(32));
  const ecdsa = msPer(() => {
    for (const d of digests) sign('bench', d, k.secretKey);
  }, 3);
  const ref = { name: `${CONTRACTS} ECDSA signatures`, value: ecdsa, unit: 'ms' };
  return [
    { name: `renter ×${CONTRACTS}: challenges (${SECTORS} sectors each)`, value: challenge, unit: 'ms', reference: ref },
    { name: `renter ×${CONTRACTS}: verify the segment proofs`, value: verify, unit: 'ms', reference: ref },
    { name: `renter ×${CONTRACTS}: root of one whole 4 MiB sector`, value: whole, unit: 'ms', reference: ref },
    { name: `renter ×${CONTRACTS}: PAY + SPLIT signed, ccpay encoded`, value: pay, unit: 'ms', reference: ref },
    { name: `renter ×${CONTRACTS}: one window in all`, value: challenge + verify + whole + pay, unit: 'ms', reference: ref },
    { name: `renter ×${CONTRACTS}: check the ccpayack signatures`, value: ack, unit: 'ms', reference: ref },
  ];
}

export const fulfilmentBench: BenchSuite = {
  name: 'fulfilment',
  async run() {
    return [...sectorProofs(), ...renterWindow()];
  },
};
