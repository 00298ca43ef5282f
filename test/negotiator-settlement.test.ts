import test from 'ava';
import { createRequire } from 'node:module';
import { collateralOf, paymentOf, type Terms } from '../src/lib/net/terms.js';
import type { BTX } from '../src/lib/chain/primitives.js';
import { refundHeightOf } from '../src/lib/negotiator/escrow.js';
import { OutcomeKind, OutcomeRecord } from '../src/lib/negotiator/records.js';
import {
  MIN_PAYOUT, SETTLEMENT_FEE, buildSettlement, completeSettlement, payAmounts, payoutScript, settlementAmounts, signSettlement,
  splitAmounts, verifySettlementSig, type SettlementKind, type SettlementState, type SettlementVariant,
} from '../src/lib/negotiator/settlement.js';
import { contractOf, fundingOf, party } from './negotiator-fixtures.js';

const require = createRequire(import.meta.url);
const KeyRing = require('bcoin/lib/primitives/keyring.js');
const CoinView = require('bcoin/lib/coins/coinview.js');

const renter = party();
const host = party();
const record = contractOf(renter, host);
const { terms } = record;
const funding: BTX = fundingOf(record, renter, host).toTX();
const refundAt = refundHeightOf(terms);
const W = 30;
const KINDS: SettlementKind[] = ['pay', 'split'];
const VARIANTS: SettlementVariant[] = ['host', 'renter'];

function state(proven: number, missed = W - proven, seq = 7): SettlementState {
  return { windows: W, proven, missed, seq };
}

function signed(kind: SettlementKind, variant: SettlementVariant, s: SettlementState): BTX {
  const mtx = buildSettlement(kind, variant, funding, terms, s);
  return completeSettlement(mtx, kind, terms, signSettlement(mtx, kind, terms, renter.id.secretKey), signSettlement(mtx, kind, terms, host.id.secretKey));
}

// Both escrow outputs, for the script interpreter.
const view = new CoinView();
view.addTX(funding, -1);

function verifies(tx: BTX): boolean {
  return tx.verify(view);
}

test('each variant of PAY and SPLIT, signed by both, verifies and is standard', (t) => {
  for (const kind of KINDS) {
    for (const variant of VARIANTS) {
      for (const p of [0, 1, 17, W]) {
        const tx = signed(kind, variant, state(p));
        t.true(verifies(tx), `${kind} ${variant} p=${p}`);
        const [standard, reason] = (tx as unknown as { checkStandard(): [boolean, string] }).checkStandard();
        t.true(standard, `${kind} ${variant} p=${p}: ${reason}`);
      }
    }
  }
});

test('the renter variant is not final before the refund height; the host variant always is', (t) => {
  for (const kind of KINDS) {
    const renterTx = signed(kind, 'renter', state(12));
    t.is(renterTx.locktime, refundAt);
    t.is(renterTx.inputs[0].sequence, 0xfffffffe);
    t.false(renterTx.isFinal(refundAt, 0), `${kind}: not in the block at the refund height`);
    t.true(renterTx.isFinal(refundAt + 1, 0));
    const hostTx = signed(kind, 'host', state(12));
    t.is(hostTx.locktime, 0);
    t.true(hostTx.isFinal(terms.startHeight, 0));
  }
});

test('a signature is refused for another variant, another p, another seq or another kind', (t) => {
  const s = state(20, 3);
  const base = buildSettlement('pay', 'host', funding, terms, s);
  const sig = signSettlement(base, 'pay', terms, renter.id.secretKey);
  t.true(verifySettlementSig(base, 'pay', terms, sig, renter.id.publicKey));
  t.false(verifySettlementSig(base, 'pay', terms, sig, host.id.publicKey), 'signed by the renter, not the host');
  const others: [string, SettlementKind, ReturnType<typeof buildSettlement>][] = [
    ['renter variant', 'pay', buildSettlement('pay', 'renter', funding, terms, s)],
    ['p + 1', 'pay', buildSettlement('pay', 'host', funding, terms, state(21, 3))],
    ['another seq', 'pay', buildSettlement('pay', 'host', funding, terms, { ...s, seq: 8 })],
    ['another missed count', 'pay', buildSettlement('pay', 'host', funding, terms, state(20, 4))],
    ['SPLIT', 'split', buildSettlement('split', 'host', funding, terms, s)],
  ];
  for (const [what, kind, mtx] of others) {
    t.false(verifySettlementSig(mtx, kind, terms, sig, renter.id.publicKey), what);
    const tx = completeSettlement(mtx, kind, terms, sig, signSettlement(mtx, kind, terms, host.id.secretKey));
    t.false(verifies(tx), `${what}: the script interpreter refuses it too`);
  }
  t.false(verifySettlementSig(base, 'pay', terms, Buffer.concat([sig.subarray(0, -1), Buffer.from([0x81])]), renter.id.publicKey), 'not SIGHASH_ALL');
  t.false(verifySettlementSig(base, 'pay', terms, Buffer.alloc(3), renter.id.publicKey), 'garbage');
});

test('outputs: outcome record first, then P2PKH payouts of the identity keys', (t) => {
  const tx = signed('pay', 'host', state(10, 2, 5));
  t.is(tx.outputs.length, 3);
  const outcome = OutcomeRecord.decode(tx.outputs[0].script.getNulldata()!);
  t.deepEqual({ ...outcome, contractId: Buffer.from(outcome.contractId) }, { contractId: record.id(), kind: OutcomeKind.PAY, seq: 5, windows: W, proven: 10, missed: 2 });
  t.is(tx.outputs[0].value, 0);
  const hash160 = KeyRing.fromPublic(Buffer.from(host.id.publicKey)).getKeyHash();
  t.true(tx.outputs[1].script.equals(payoutScript(host.id.publicKey)));
  t.deepEqual(tx.outputs[1].script.toRaw(), Buffer.concat([Buffer.from([0x76, 0xa9, 20]), hash160, Buffer.from([0x88, 0xac])]));
  t.true(tx.outputs[2].script.equals(payoutScript(renter.id.publicKey)));
  const P = paymentOf(terms);
  t.is(tx.outputs[1].value, Math.floor(P * 10 / W));
  t.is(tx.outputs[2].value, P - Math.floor(P * 10 / W) - SETTLEMENT_FEE, 'the larger output, the renter\'s here, pays the fee');

  const split = signed('split', 'host', state(10, 2, 5));
  const C = collateralOf(terms);
  t.is(split.outputs.length, 2);
  t.is(split.outputs[0].value, C - Math.floor(C * 10 / W), 'the collateral of unproven windows is burned');
  t.is(OutcomeRecord.decode(split.outputs[0].script.getNulldata()!).kind, OutcomeKind.SPLIT);
  t.is(split.outputs[1].value, Math.floor(C * 10 / W) - SETTLEMENT_FEE);
});

function addsUp(t: import('ava').ExecutionContext, kind: SettlementKind, tm: Terms, windows: number, proven: number): void {
  const s = { windows, proven, missed: 0, seq: 1 };
  const a = settlementAmounts(kind, tm, s);
  const input = kind === 'pay' ? paymentOf(tm) : collateralOf(tm);
  const what = `${kind} input=${input} W=${windows} p=${proven}`;
  t.is(a.hostPaid + a.renterRefunded + a.burned + a.fee, input, what);
  t.true(a.fee >= Math.min(SETTLEMENT_FEE, input), `${what}: pays the fee`);
  for (const v of [a.hostPaid, a.renterRefunded]) t.true(v === 0 || v >= MIN_PAYOUT, `${what}: no dust payout`);
  const tx = buildSettlement(kind, 'host', funding, tm, s);
  const outputs = tx.outputs.reduce((n, o) => n + o.value, 0);
  t.is(outputs + a.fee, input, `${what}: the transaction's outputs are the amounts`);
}

test('amounts add up: outputs + fee + burn = input, for every p and odd values', (t) => {
  for (let p = 0; p <= W; p++) for (const kind of KINDS) addsUp(t, kind, terms, W, p);
  const odd: Partial<Terms>[] = [
    { price: 1, collateral: 1, size: 1024 ** 3 * 7, duration: 4320 * 143 + 1 },
    { price: 99_999_999, collateral: 3, size: 1024 ** 3 * 1000, duration: 52_560 },
    { price: 123_457, collateral: 987_653, size: 1024 ** 3 * 13 + 5, duration: 997 },
    { price: 1_000_000_000, collateral: 1_000_000_000, size: 1024 ** 4 * 100, duration: 52_560 },
  ];
  for (const over of odd) {
    const tm = { ...terms, ...over };
    for (const windows of [1, 3, 7, 365]) {
      for (const proven of new Set([0, 1, Math.floor(windows / 2), windows - 1, windows])) {
        for (const kind of KINDS) addsUp(t, kind, tm, windows, proven);
      }
    }
  }
});

test('edge amounts: small escrows, ties and large values', (t) => {
  t.deepEqual(payAmounts(10_000, 2, 1), { hostPaid: 3000, renterRefunded: 5000, burned: 0, fee: 2000 }, 'a tie: the host\'s output pays the fee');
  t.deepEqual(payAmounts(2500, 2, 1), { hostPaid: 0, renterRefunded: 1250, burned: 0, fee: 1250 }, 'a payout below 1000 goes to the fee');
  t.deepEqual(payAmounts(1000, 1, 1), { hostPaid: 0, renterRefunded: 0, burned: 0, fee: 1000 });
  t.deepEqual(splitAmounts(10_000, 1, 0), { hostPaid: 0, renterRefunded: 0, burned: 8000, fee: 2000 }, 'p = 0: all burned but the fee');
  t.deepEqual(splitAmounts(10_000, 4, 1), { hostPaid: 0, renterRefunded: 0, burned: 7500, fee: 2500 }, 'a host share below fee + 1000 goes to the fee');
  t.deepEqual(splitAmounts(10_000, 1, 1), { hostPaid: 8000, renterRefunded: 0, burned: 0, fee: 2000 });
  t.deepEqual(splitAmounts(1500, 1, 0), { hostPaid: 0, renterRefunded: 0, burned: 0, fee: 1500 });
  const big = 2_000_000_000_000_000;
  const a = payAmounts(big, 65_535, 65_534);
  t.is(a.hostPaid + SETTLEMENT_FEE, Number((BigInt(big) * 65_534n) / 65_535n), 'exact above 2^53');
});

test('malformed states are refused', (t) => {
  t.throws(() => buildSettlement('pay', 'host', funding, terms, { windows: 0, proven: 0, missed: 0, seq: 1 }), { instanceOf: RangeError });
  t.throws(() => buildSettlement('pay', 'host', funding, terms, { windows: 3, proven: 2, missed: 2, seq: 1 }), { instanceOf: RangeError });
  t.throws(() => buildSettlement('split', 'host', funding, terms, { windows: 3, proven: 1.5, missed: 0, seq: 1 }), { instanceOf: RangeError });
  t.throws(() => payoutScript(new Uint8Array(32)), { instanceOf: TypeError });
});
