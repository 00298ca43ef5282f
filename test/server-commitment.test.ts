/**
 * The file server's side of contract fulfilment (docs/server.md, "Commitments"
 * and "End of a contract"): sector roots computed once and kept beside the
 * sectors, revisions checked against what is held before a real node's
 * Negotiator sees them, reads of an ended contract until its refund height,
 * and the sweep that deletes what is over.
 */
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Revision } from '../src/lib/negotiator/revision.js';
import { DELETE_GRACE, FileServerError, HttpContractAuthority, merkleRoot, type FileServerOptions, type ServedContract } from '../src/lib/server/index.js';
import { devNode, waitFor } from './util/devnode.js';
import { inProcessServer } from './util/serve.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const newId = () => randomBytes(32).toString('hex');

/** A server whose roots files are listed by `sidecars()`; authority answers are cached 1 ms, so changes to `contracts` show at once. */
async function setup(t: ExecutionContext, options: Partial<FileServerOptions> = {}) {
  const s = await inProcessServer(t, { cache: { ttlMs: 1, negativeTtlMs: 1 }, ...options });
  const sidecars = async () => (await readdir(s.dir, { recursive: true })).filter((f) => f.endsWith('.root')).map((f) => f.slice(-69, -5)).sort();
  return { ...s, sidecars };
}

async function refused(t: ExecutionContext, p: Promise<unknown>, status: number, code: string) {
  const err = await t.throwsAsync(p, { instanceOf: FileServerError });
  t.is(err?.status, status, err?.message);
  t.is(err?.code, code);
}

test('roots: sorted by id, each the sector\'s Merkle root, computed once and removed with the sector', async (t) => {
  // 1 token a request, 25 a root computed: the burst pays for two roots, and nothing refills it.
  const { addContract, clientFor, sidecars } = await setup(t, { rateLimit: { perSecond: 0.001, burst: 60 } });
  const client = clientFor(addContract());
  const sectors = [randomBytes(100_000), randomBytes(4 << 20)].map((data) => ({ id: newId(), data }));
  for (const s of sectors) await client.put(s.id, s.data);
  const expected = sectors.map((s) => ({ id: s.id, size: s.data.length, root: hex(merkleRoot(s.data)) })).sort((a, b) => a.id.localeCompare(b.id));
  t.deepEqual(await client.roots(), expected);
  t.deepEqual(await sidecars(), expected.map((s) => s.id), 'each root is kept beside its sector');
  t.deepEqual(await client.roots(), expected, 'asked again, nothing is computed: the tokens left pay for the request alone');

  const third = { id: newId(), data: randomBytes(5000) };
  await client.put(third.id, third.data);
  await refused(t, client.roots(), 429, 'rate-limited');

  t.true(await client.delete(sectors[0].id));
  t.deepEqual(await sidecars(), [sectors[1].id], 'the root goes with its sector');
});

test('a sector replaced under the same id gets its new root', async (t) => {
  const { addContract, clientFor } = await setup(t);
  const client = clientFor(addContract());
  const id = newId();
  await client.put(id, randomBytes(3000));
  await client.roots();
  const replacement = randomBytes(3000);
  await client.put(id, replacement);
  t.deepEqual(await client.roots(), [{ id, size: 3000, root: hex(merkleRoot(replacement)) }]);
});

test('an ended contract is read until its refund height, and written no more', async (t) => {
  const { addContract, clientFor, contracts } = await setup(t);
  const cid = addContract();
  const client = clientFor(cid);
  const id = newId();
  const data = randomBytes(10_000);
  await client.put(id, data);
  contracts.set(cid, { ...contracts.get(cid)!, state: 'expired', expiresAtHeight: 100, refundHeight: 244, tipHeight: 150 });
  await new Promise((r) => setTimeout(r, 5));

  t.true(Buffer.from(await client.get(id)).equals(data));
  t.is((await client.list()).sectors.length, 1);
  t.is((await client.proof(id, 3)).segmentIndex, 3);
  t.is((await client.roots()).length, 1);
  await refused(t, client.put(newId(), data), 403, 'contract-ended');
  await refused(t, client.delete(id), 403, 'contract-ended');

  contracts.set(cid, { ...contracts.get(cid)!, tipHeight: 244 });
  await new Promise((r) => setTimeout(r, 5));
  await refused(t, client.get(id), 403, 'contract-not-live');
  await refused(t, client.roots(), 403, 'contract-not-live');
});

test('the sweep deletes the sectors of settled contracts, of those past refund height + grace, and of unknown ones after a while', async (t) => {
  const { addContract, clientFor, contracts, dir, lines } = await setup(t, { sweep: { intervalMs: 50, unknownGraceMs: 3000 } });
  const ids = {
    live: addContract(),
    settled: addContract(),
    reading: addContract(),
    over: addContract(),
    unknown: addContract(),
  };
  for (const cid of Object.values(ids)) await clientFor(cid).put(newId(), randomBytes(2000));
  const expired = (tipHeight: number): Partial<ServedContract> => ({ state: 'expired', expiresAtHeight: 100, refundHeight: 244, tipHeight });
  contracts.set(ids.settled, { ...contracts.get(ids.settled)!, state: 'settled' });
  contracts.set(ids.reading, { ...contracts.get(ids.reading)!, ...expired(244 + DELETE_GRACE - 1) });
  contracts.set(ids.over, { ...contracts.get(ids.over)!, ...expired(244 + DELETE_GRACE) });
  contracts.delete(ids.unknown);
  const stored = (cid: string) => existsSync(join(dir, 'sectors', cid));

  await waitFor(() => !stored(ids.settled) && !stored(ids.over), 5000, 'the settled and the over contracts swept');
  // The grace is long beside the sweep's interval, so a loaded machine does not let it run out before this look.
  t.true(stored(ids.unknown), 'an unknown contract is kept for the grace');
  await waitFor(() => !stored(ids.unknown), 15_000, 'the unknown contract swept after its grace');
  t.true(stored(ids.live));
  t.true(stored(ids.reading), 'a contract within the grace after its refund height is kept');
  // A sweep logs a contract once its sectors are gone: the last line may follow the look above.
  const sweepLines = () => lines.map((l) => JSON.parse(l)).filter((e) => e.method === 'SWEEP');
  await waitFor(() => sweepLines().length >= 3, 5000, 'three SWEEP log lines');
  const sweeps = sweepLines();
  t.deepEqual(sweeps.map((e) => e.path.slice(14, 78)).sort(), [ids.settled, ids.over, ids.unknown].sort());
  t.regex(sweeps.find((e) => e.path.includes(ids.settled)).note, /^contract settled: 2000 bytes deleted$/);
});

test('a revision is checked against the sectors held, then handed to the Negotiator, whose refusal the renter reads', async (t) => {
  const node = await devNode(t);
  const signer = new HttpContractAuthority({ url: `http://127.0.0.1:${node.httpPort}`, apiKey: node.apiKey() });
  const { addContract, clientFor, renter } = await setup(t, { signer });
  const cid = addContract();
  const client = clientFor(cid);
  const sectors = [randomBytes(70_000), randomBytes(1000)].map((data) => ({ id: newId(), data }));
  for (const s of sectors) await client.put(s.id, s.data);
  const leaves = sectors.map((s) => ({ id: s.id, size: s.data.length, root: merkleRoot(s.data) }));
  const signed = (of: typeof leaves, contractId = cid) => Revision.fromSectors(Buffer.from(contractId, 'hex'), 1, of).signAsRenter(renter.secretKey).encode().toString('hex');

  const mismatch = await t.throwsAsync(client.revise(signed(leaves.slice(0, 1))), { instanceOf: FileServerError });
  t.is(mismatch?.status, 409);
  t.is(mismatch?.code, 'root-mismatch');
  t.regex(mismatch!.message, /holds 2 sectors, 71000 bytes.*commits to 1 sectors, 70000 bytes/);
  await refused(t, client.revise(signed(leaves, newId())), 400, 'bad-revision');
  await refused(t, client.revise('00'.repeat(209)), 400, 'bad-revision');

  // The node's Negotiator has no such contract (or, before its revisions route exists, no route): a refusal, not an outage.
  const refusal = await t.throwsAsync(client.revise(signed(leaves)), { instanceOf: FileServerError });
  t.is(refusal?.status, 502);
  t.is(refusal?.code, 'negotiator-refused');
  t.regex(refusal!.message, /the Negotiator refused the revision: /);

  const { addContract: addElsewhere, clientFor: clientElsewhere } = await setup(t);
  const lone = addElsewhere();
  await refused(t, clientElsewhere(lone).revise(signed([], lone)), 503, 'no-negotiator');
});
