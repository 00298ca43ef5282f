import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { MAX_DATA_CARRIER } from '../src/lib/chain/policy.js';
import { ProtocolError } from '../src/lib/net/errors.js';
import { contractIdOf, encodeTerms } from '../src/lib/net/terms.js';
import {
  CONTRACT_RECORD_SIZE, ContractRecord, MAX_COMMENT_SIZE, MAX_RATING_RECORD_SIZE, RatingRecord, decodeRecord, signTerms,
} from '../src/lib/negotiator/records.js';
import { FIXED, FIXED_TERMS } from './negotiator-fixtures.js';

const VECTORS = new URL('./vectors/negotiator-records.json', import.meta.url);

const contract = new ContractRecord(FIXED_TERMS, signTerms(FIXED_TERMS, FIXED.renter.secretKey), signTerms(FIXED_TERMS, FIXED.host.secretKey));
const rating = new RatingRecord({ contractId: contract.id(), raterKey: FIXED.renter.publicKey, score: 4, comment: 'fast, réliable ✓' })
  .sign(FIXED.renter.secretKey);
const samples = { contract, rating, 'rating-empty-comment': new RatingRecord({ ...rating, raterKey: FIXED.host.publicKey, score: 1, comment: '' }).sign(FIXED.host.secretKey) };

// `UPDATE_VECTORS=1 npx ava test/negotiator-records.test.ts` rewrites the file; review the diff before committing.
if (process.env.UPDATE_VECTORS) {
  const vectors = Object.entries(samples).map(([name, r]) => ({ name, hex: r.encode().toString('hex') }));
  writeFileSync(VECTORS, JSON.stringify({ source: 'test/negotiator-records.test.ts, keys 0x01…01 (renter) and 0x02…02 (host)', vectors }, null, 2) + '\n');
}
const file = JSON.parse(readFileSync(VECTORS, 'utf8')) as { vectors: { name: string; hex: string }[] };

test('golden vectors: records encode as recorded and decode back to the same bytes', (t) => {
  t.is(file.vectors.length, Object.keys(samples).length);
  for (const v of file.vectors) {
    t.is(samples[v.name as keyof typeof samples].encode().toString('hex'), v.hex, v.name);
    const back = decodeRecord(Buffer.from(v.hex, 'hex'));
    t.truthy(back);
    t.is(back!.encode().toString('hex'), v.hex, v.name);
    t.true((back as ContractRecord | RatingRecord).verify(), `${v.name} signature`);
  }
});

test('the contract record lays out as documented: magic, type, version, terms, two signatures', (t) => {
  const raw = contract.encode();
  t.is(raw.length, CONTRACT_RECORD_SIZE);
  t.is(raw.subarray(0, 6).toString('hex'), '434c44430101');
  t.deepEqual(raw.subarray(6, 136), encodeTerms(FIXED_TERMS));
  t.deepEqual(raw.subarray(136, 200), Buffer.from(contract.renterSig));
  t.deepEqual(contract.id(), contractIdOf(FIXED_TERMS));
});

test('both records fit one OP_RETURN under the 1024-byte relay policy', (t) => {
  t.true(CONTRACT_RECORD_SIZE <= MAX_DATA_CARRIER);
  t.true(MAX_RATING_RECORD_SIZE <= MAX_DATA_CARRIER);
  const longest = new RatingRecord({ ...rating, comment: 'x'.repeat(MAX_COMMENT_SIZE) }).sign(FIXED.renter.secretKey);
  t.is(longest.encode().length, MAX_RATING_RECORD_SIZE);
});

test('records with a wrong signature decode but do not verify', (t) => {
  const swapped = new ContractRecord(FIXED_TERMS, contract.hostSig, contract.renterSig);
  t.false(ContractRecord.decode(swapped.encode()).verify());
  const forged = RatingRecord.decode(rating.encode());
  forged.score = 5;
  t.false(forged.verify());
});

test('invalid ratings are malformed: score out of range, long or control-character comment, bad UTF-8', (t) => {
  t.throws(() => new RatingRecord({ ...rating, score: 6 }).sign(FIXED.renter.secretKey), { instanceOf: ProtocolError });
  t.throws(() => new RatingRecord({ ...rating, comment: 'é'.repeat(71) }).encode(), { instanceOf: ProtocolError });
  t.throws(() => new RatingRecord({ ...rating, comment: 'a\u001b[2Jb' }).encode(), { instanceOf: ProtocolError });
  const raw = rating.encode();
  const at = 4 + 1 + 1 + 32 + 33 + 1 + 1; // first comment byte
  raw[at] = 0xff;
  t.throws(() => decodeRecord(raw), { instanceOf: ProtocolError });
});

test('data without the magic is not ours; an unknown record type is malformed', (t) => {
  t.is(decodeRecord(Buffer.from('hello world')), null);
  const raw = contract.encode();
  raw[4] = 9;
  t.throws(() => decodeRecord(raw), { instanceOf: ProtocolError });
});
