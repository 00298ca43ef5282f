/**
 * POST /v1/contracts/<new>/carry on a real file server: a renewed contract
 * holds the old one's sectors without an upload (the same files, linked),
 * and keeps them when the old contract is swept; the server carries only
 * between contracts of one renter with one host, into a live contract with
 * room for them.
 */
import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPair } from '../src/lib/crypto/sig.js';
import { FileServerError } from '../src/lib/server/index.js';
import { waitFor } from './util/devnode.js';
import { inProcessServer } from './util/serve.js';

const HOST = `02${'11'.repeat(32)}`;

function sector(size: number): { id: string; data: Buffer } {
  const data = randomBytes(size);
  return { id: createHash('sha256').update(data).digest('hex'), data };
}

test('a renewed contract holds the old one\'s sectors, linked not copied, and keeps them once the old one is swept', async (t) => {
  const s = await inProcessServer(t, { cache: { ttlMs: 1, negativeTtlMs: 1 }, sweep: { intervalMs: 100 } });
  const oldId = s.addContract({ hostKey: HOST });
  const newId = s.addContract({ hostKey: HOST });
  const old = s.clientFor(oldId);
  const sectors = [sector(300_000), sector(70_000)];
  for (const x of sectors) await old.put(x.id, x.data);
  const oldRoots = await old.roots();

  const renewed = s.clientFor(newId);
  t.deepEqual(await renewed.carry(oldId), { sectors: 2, bytes: 370_000 });
  for (const x of sectors) {
    t.true(Buffer.from(await renewed.get(x.id)).equals(x.data));
    const [a, b] = await Promise.all([oldId, newId].map((c) => stat(join(s.dir, 'sectors', c, x.id.slice(0, 2), x.id))));
    t.is(a.ino, b.ino, 'one file under both contracts');
  }
  t.deepEqual(await renewed.roots(), oldRoots, 'the new contract commits to the same roots');
  t.is((await renewed.list()).usedBytes, 370_000);
  t.deepEqual(await renewed.carry(oldId), { sectors: 2, bytes: 370_000 }, 'carrying again changes nothing');
  t.is((await renewed.list()).usedBytes, 370_000);

  s.contracts.get(oldId)!.state = 'settled';
  const oldDir = join(s.dir, 'sectors', oldId);
  await waitFor(async () => !existsSync(oldDir), 60_000, 'the old contract swept');
  for (const x of sectors) t.true(Buffer.from(await renewed.get(x.id)).equals(x.data), 'read after the old contract is swept');
});

test('carry is refused across renters or hosts, into an ended or too small contract, and unsigned by the new contract\'s renter', async (t) => {
  const s = await inProcessServer(t);
  const oldId = s.addContract({ hostKey: HOST });
  const x = sector(200_000);
  await s.clientFor(oldId).put(x.id, x.data);
  const refusal = async (to: string, from: string, secretKey?: Uint8Array) => {
    const err = await t.throwsAsync(s.clientFor(to, secretKey).carry(from), { instanceOf: FileServerError });
    return [err!.status, err!.code];
  };
  const other = generateKeyPair();
  const othersId = s.addContract({ hostKey: HOST, renterKey: Buffer.from(other.publicKey).toString('hex') });
  t.deepEqual(await refusal(othersId, oldId, other.secretKey), [403, 'unknown-contract'], 'another renter\'s contract');
  t.deepEqual(await refusal(s.addContract({ hostKey: `03${'22'.repeat(32)}` }), oldId), [403, 'unknown-contract'], 'another host\'s contract');
  t.deepEqual(await refusal(s.addContract({ hostKey: HOST }), 'cd'.repeat(32)), [403, 'unknown-contract'], 'an unknown contract');
  t.deepEqual(await refusal(s.addContract({ hostKey: HOST }), oldId, other.secretKey), [403, 'wrong-key'], 'signed by another key');
  t.deepEqual(await refusal(oldId, oldId), [400, 'bad-id'], 'itself');
  t.deepEqual(await refusal(s.addContract({ hostKey: HOST, state: 'expired' }), oldId), [403, 'contract-ended'], 'an ended contract');
  const small = s.addContract({ hostKey: HOST, sizeBytes: 100_000 });
  t.deepEqual(await refusal(small, oldId), [413, 'over-contract'], 'a contract too small');
  t.deepEqual((await s.clientFor(small).list()).sectors, [], 'nothing was linked');
  t.deepEqual((await s.clientFor(othersId, other.secretKey).list()).sectors, []);
});
