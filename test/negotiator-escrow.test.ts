import test from 'ava';
import { collateralOf, paymentOf } from '../src/lib/net/terms.js';
import type { BMTX, BTX } from '../src/lib/chain/primitives.js';
import {
  COLLATERAL_DELAY, FundingOutput, applyWitnesses, assembleFunding, cooperativeWitness, escrowOutputScript, feeShares, ownerRefundHeight,
  refundHeightOf, refundWitness, signEscrowInput, spendEscrow, witnessesOf, type EscrowKind,
} from '../src/lib/negotiator/escrow.js';
import { contractOf, fundingOf, party, shareOf } from './negotiator-fixtures.js';

const renter = party();
const host = party();
const record = contractOf(renter, host);
const { terms } = record;
const P = paymentOf(terms);
const C = collateralOf(terms);
const refundAt = refundHeightOf(terms);
const funding: BTX = fundingOf(record, renter, host).toTX();
const FEE = 1000;

function coop(kinds: EscrowKind[], outputs: { to: 'renter' | 'host'; value: number }[], signers = { renter: true, host: true }): BMTX {
  const mtx = spendEscrow(funding, terms, kinds, outputs.map((o) => ({ script: (o.to === 'renter' ? renter : host).program, value: o.value })));
  kinds.forEach((kind, i) => {
    const r = signEscrowInput(mtx, i, terms, kind, (signers.renter ? renter : host).id.secretKey);
    const h = signEscrowInput(mtx, i, terms, kind, (signers.host ? host : renter).id.secretKey);
    cooperativeWitness(mtx, i, terms, kind, r, h);
  });
  return mtx;
}

function refund(kind: EscrowKind, by: 'renter' | 'host', locktime = ownerRefundHeight(terms, kind)): BMTX {
  const who = by === 'renter' ? renter : host;
  const value = (kind === 'payment' ? P : C) - FEE;
  const mtx = spendEscrow(funding, terms, [kind], [{ script: who.program, value }], locktime);
  refundWitness(mtx, 0, terms, kind, signEscrowInput(mtx, 0, terms, kind, who.id.secretKey));
  return mtx;
}

test('funding: both parties sign their own inputs; the assembled transaction verifies', (t) => {
  const shares = feeShares(2000);
  const plan = { record, renter: shareOf(renter, P, shares.renter), host: shareOf(host, C, shares.host), fee: 2000 };
  // Each side builds the same transaction from the same plan.
  const atHost = assembleFunding(plan);
  const atRenter = assembleFunding(plan);
  t.is(atHost.hash().toString('hex'), atRenter.hash().toString('hex'));
  t.is(atHost.sign(host.ring), 1);
  t.false(atHost.verify(), 'half-signed funding must not verify');
  applyWitnesses(atRenter, 1, witnessesOf(atHost, 1, 1));
  t.is(atRenter.sign(renter.ring), 1);
  t.true(atRenter.verify());
  t.is(atRenter.outputs[FundingOutput.PAYMENT].value, P);
  t.is(atRenter.outputs[FundingOutput.COLLATERAL].value, C);
  t.true(atRenter.outputs[FundingOutput.PAYMENT].script.equals(escrowOutputScript(terms, 'payment')));
  t.true(atRenter.outputs[FundingOutput.RECORD].script.isNulldata(true), 'record output is a standard data carrier');
});

test('funding: a share that does not add up, or shares spending the same coin, are refused', (t) => {
  const shares = feeShares(2000);
  const short = shareOf(renter, P - 1, shares.renter);
  t.throws(() => assembleFunding({ record, renter: short, host: shareOf(host, C, shares.host), fee: 2000 }), { message: /does not add up/ });
  const renterShare = shareOf(renter, P, shares.renter);
  const hostShare = shareOf(host, C, shares.host);
  hostShare.coins.push({ ...renterShare.coins[0] });
  hostShare.changeValue += renterShare.coins[0].value;
  t.throws(() => assembleFunding({ record, renter: renterShare, host: hostShare, fee: 2000 }), { message: /same coin/ });
});

test('settlement: cooperative close at the end pays the host payment and collateral', (t) => {
  t.true(coop(['payment', 'collateral'], [{ to: 'host', value: P + C - FEE }]).verify());
});

test('settlement: cooperative early termination splits as both sign', (t) => {
  const mtx = coop(['payment', 'collateral'], [{ to: 'renter', value: Math.floor(P / 2) }, { to: 'host', value: P - Math.floor(P / 2) + C - FEE }]);
  t.true(mtx.verify());
});

test('settlement: the renter takes back its payment alone after the refund height', (t) => {
  const mtx = refund('payment', 'renter');
  t.true(mtx.verify());
  t.false(mtx.toTX().isFinal(refundAt, 0), 'not minable at the refund height itself');
  t.true(mtx.toTX().isFinal(refundAt + 1, 0));
});

test('settlement: the host takes back its collateral alone, COLLATERAL_DELAY after the refund height', (t) => {
  const mtx = refund('collateral', 'host');
  t.is(mtx.locktime, refundAt + COLLATERAL_DELAY);
  t.true(mtx.verify());
  t.false(refund('collateral', 'host', refundAt).verify(), 'not at the refund height, when the renter\'s settlements open');
});

test('the host alone cannot take the renter payment, by either branch', (t) => {
  t.false(refund('payment', 'host').verify(), 'refund branch names the renter');
  t.false(coop(['payment'], [{ to: 'host', value: P - FEE }], { renter: false, host: true }).verify(), 'two host signatures are not 2-of-2');
});

test('the renter alone cannot take the host collateral, by either branch', (t) => {
  t.false(refund('collateral', 'renter').verify());
  t.false(coop(['collateral'], [{ to: 'renter', value: C - FEE }], { renter: true, host: false }).verify());
});

test('refunds before the refund height fail the time lock', (t) => {
  t.false(refund('payment', 'renter', refundAt - 1).verify());
  t.false(refund('collateral', 'host', refundAt + COLLATERAL_DELAY - 1).verify());
});

test('cooperative signatures are bound to their transaction', (t) => {
  const signed = coop(['payment', 'collateral'], [{ to: 'host', value: P + C - FEE }]);
  const other = spendEscrow(funding, terms, ['payment', 'collateral'], [{ script: renter.program, value: P + C - FEE }]);
  applyWitnesses(other, 0, witnessesOf(signed, 0, 2));
  t.false(other.verify(), 'the renter cannot redirect a close the host signed');
});
