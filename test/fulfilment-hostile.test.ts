/**
 * The hostile side of fulfilment (docs/protocol.md §8.6): forged, replayed,
 * stale, foreign and oversized commitment revisions refused by the host, with
 * its latest unchanged; hosts whose proofs or sectors lie refused by the
 * renter. In the in-process world of test/util/fulfilment-world.ts, with a
 * HostileFront where the lie needs more than the real file server does.
 */
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair } from '../src/lib/crypto/sig.js';
import { isCloudCoinError } from '../src/lib/errors.js';
import { Revision, type RevisionFields } from '../src/lib/negotiator/revision.js';
import { FileServerError } from '../src/lib/server/file-server-client.js';
import { DURATION, GiB, mine, show, world, type World } from './util/fulfilment-world.js';
import { HostileFront } from './util/hostile-front.js';

function idOf(w: World): Buffer {
  return Buffer.from(w.contractId, 'hex');
}

/** The host's latest commitment revision, hex with both signatures. */
async function hostLatest(w: World): Promise<string | undefined> {
  return (await w.host.svc.fulfilment.store.commitment(idOf(w)))?.revision;
}

/** The renter's latest commitment: the revision and the sectors (with roots) it covers. */
async function renterCommitment(w: World) {
  const c = (await w.renter.svc.fulfilment.store.commitment(idOf(w)))!;
  return { revision: Revision.decode(Buffer.from(c.revision, 'hex')), sectors: c.sectors };
}

/** A revision of the world's sectors as the renter holds them, numbered `number`, signed by `secretKey` (the renter's unless given). */
async function revisionOf(w: World, number: number, fields: Partial<RevisionFields> = {}, secretKey = w.renter.identity.secretKey): Promise<string> {
  const { sectors } = await renterCommitment(w);
  const base = Revision.fromSectors(idOf(w), number, sectors.map((s) => ({ ...s, root: Buffer.from(s.root, 'hex') })));
  return new Revision({ ...base, ...fields }).signAsRenter(secretKey).encode().toString('hex');
}

/** The Negotiator's refusal code of countersigning `hex` (as POST /ext/negotiator/contracts/<id>/revisions answers it). */
async function refusal(t: ExecutionContext, w: World, hex: string, message: RegExp, id = w.contractId, svc = w.host.svc): Promise<string> {
  const err = await t.throwsAsync(svc.countersign(id, hex), { message });
  return isCloudCoinError(err) ? err.code : 'not a domain error';
}

/** The file server's refusal of POST /v1/contracts/<cid>/revision: status and code. */
async function serverRefusal(t: ExecutionContext, w: World, hex: string): Promise<{ status: number | null; code: string }> {
  const err = await t.throwsAsync(w.client.revise(hex));
  t.true(err instanceof FileServerError, String(err));
  return { status: (err as FileServerError).status, code: (err as FileServerError).code };
}

/** A world whose window 0 is proven on a commitment of sectors of `sizes` bytes, put after the contract started. */
async function committed(t: ExecutionContext, sizes: number[], front?: HostileFront): Promise<World> {
  const w = await world(t, 0, front ? (url) => front.open(t, url) : undefined);
  if (front) front.storageDir = w.storageDir;
  const ids: string[] = [];
  for (const size of sizes) {
    const id = randomBytes(32).toString('hex');
    await w.client.put(id, randomBytes(size));
    ids.push(id);
  }
  await w.renter.svc.setExpectedSectors(w.contractId, ids);
  await w.renter.svc.fulfilment.round();
  t.like((await show(w.renter, w.contractId)).fulfilment, { proven: 1, missed: 0, commitment: { sectors: sizes.length } });
  return w;
}

function sectorPath(w: World, sectorId: string): string {
  return join(w.storageDir, 'sectors', w.contractId, sectorId.slice(0, 2), sectorId);
}

/** Flips one byte of a sector file in place, as a disk or a host that rewrote it would. */
function flipByte(w: World, sectorId: string, at = 0): void {
  const path = sectorPath(w, sectorId);
  const bytes = readFileSync(path);
  bytes[at] ^= 0x01;
  writeFileSync(path, bytes);
}

test('the host countersigns no forged, replayed, stale, foreign or oversized revision, and its latest stays', async (t) => {
  const w = await committed(t, [1000, 5096]);
  const latest = await hostLatest(w);
  const { revision: current } = await renterCommitment(w);
  const next = current.revision + 1;

  const forged = await revisionOf(w, next, {}, generateKeyPair().secretKey);
  t.is(await refusal(t, w, forged, /not signed by the contract's renter/), 'EUSAGE');
  t.deepEqual(await serverRefusal(t, w, forged), { status: 502, code: 'negotiator-refused' }, 'through the file server');

  // The latest itself sent again, and one below it: both signed by the renter.
  const replayed = Revision.decode(Buffer.from(latest!, 'hex'));
  replayed.hostSig = new Uint8Array(64);
  t.is(await refusal(t, w, replayed.encode().toString('hex'), /is not above the latest/), 'ECONFLICT');
  t.deepEqual(await serverRefusal(t, w, replayed.encode().toString('hex')), { status: 502, code: 'negotiator-refused' });
  if (current.revision > 1) t.is(await refusal(t, w, await revisionOf(w, current.revision - 1), /is not above the latest/), 'ECONFLICT');

  const foreign = await revisionOf(w, next, { contractId: randomBytes(32) });
  t.is(await refusal(t, w, foreign, /for another contract/), 'EUSAGE');
  t.deepEqual(await serverRefusal(t, w, foreign), { status: 400, code: 'bad-revision' });

  const oversized = await revisionOf(w, next, { sectorCount: 300, totalBytes: GiB + 1, root: randomBytes(32) });
  t.is(await refusal(t, w, oversized, /the contract rents/), 'EUSAGE');

  const fakeRoot = await revisionOf(w, next, { root: randomBytes(32) });
  t.deepEqual(await serverRefusal(t, w, fakeRoot), { status: 409, code: 'root-mismatch' }, 'the file server holds other sectors than it commits');

  const honest = await revisionOf(w, next);
  t.is(await refusal(t, w, honest, /not the host of that contract/, w.contractId, w.renter.svc), 'ENOTPARTY', 'the renter\'s node is not the host');
  t.is(await refusal(t, w, honest, /no such contract/, randomBytes(32).toString('hex')), 'ENOTFOUND');

  t.is(await hostLatest(w), latest, 'nothing refused became the host\'s latest');
  t.like((await show(w.host, w.contractId)).fulfilment!.commitment, { revision: current.revision });

  await mine(w, DURATION);
  t.is(await refusal(t, w, honest, /the contract is expired: only a live contract's commitment changes/), 'ECONFLICT');
  t.is(await hostLatest(w), latest);
});

/**
 * What the host's ROOTS answer says of a sector from now on: `root`, in the
 * sidecar the file server keeps beside the sector, stamped with the sector
 * file's present identity so the server takes it as its own computation.
 */
function reportRoot(w: World, sectorId: string, root: Buffer): void {
  const st = statSync(sectorPath(w, sectorId), { bigint: true });
  const identity = Buffer.alloc(24);
  identity.writeBigUInt64LE(st.size, 0);
  identity.writeBigUInt64LE(st.ino, 8);
  identity.writeBigUInt64LE(st.mtimeNs, 16);
  writeFileSync(`${sectorPath(w, sectorId)}.root`, Buffer.concat([root, identity]));
}

/** Mines to window 1's deadline, checking that the host was asked until then and that the window is missed at it. */
async function missesWindow1(t: ExecutionContext, w: World): Promise<void> {
  await mine(w, 4);
  t.like((await show(w.renter, w.contractId)).fulfilment, { proven: 1, missed: 0 }, 'window 1 open, retried until its deadline');
  await mine(w, 4);
  t.like((await show(w.renter, w.contractId)).fulfilment, { proven: 1, missed: 1 }, 'window 1 missed at its deadline');
}

test('a host whose sector rotted under the root it still reports answers every challenge, and misses the window', async (t) => {
  const w = await committed(t, [3000]);
  const [sector] = (await renterCommitment(w)).sectors;
  flipByte(w, sector.id);
  reportRoot(w, sector.id, Buffer.from(sector.root, 'hex'));
  const proof = await w.client.proof(sector.id, 0);
  t.is(proof.sectorSize, sector.size, 'the host answers');
  await missesWindow1(t, w);
  t.deepEqual((await renterCommitment(w)).sectors, [sector], 'the commitment is what it was');
});

test('a host whose sector bytes changed, and whose roots say so, is not committed to the new bytes: it misses the window', async (t) => {
  const w = await committed(t, [1000, 5096]);
  const before = await renterCommitment(w);
  for (const s of before.sectors) flipByte(w, s.id, s.size - 1);
  t.notDeepEqual((await w.client.roots()).map((s) => s.root), before.sectors.map((s) => s.root), 'the host reports the roots of what it now holds');
  await missesWindow1(t, w);
  t.is((await renterCommitment(w)).revision.revision, before.revision.revision, 'no revision signed over the changed bytes');
  t.like((await show(w.host, w.contractId)).fulfilment!.commitment, { revision: before.revision.revision });
});

test('a host that answers a proof of another segment than the challenged one is refused', async (t) => {
  const front = new HostileFront();
  const w = await committed(t, [3000], front);
  const [sector] = (await renterCommitment(w)).sectors;
  const segments = Math.ceil(sector.size / 64);
  front.proofSwap = (sectorId, segment) => ({ sectorId, segment: (segment + 1) % segments });
  await missesWindow1(t, w);
});

test('a host that answers a proof of another sector than the challenged one is refused', async (t) => {
  const front = new HostileFront();
  // Of one size, so that the proof's shape is the challenged sector's.
  const w = await committed(t, [3000, 3000], front);
  const sectors = (await renterCommitment(w)).sectors;
  front.proofSwap = (sectorId, segment) => ({ sectorId: sectors.find((s) => s.id !== sectorId)!.id, segment });
  await missesWindow1(t, w);
});

test('the whole-sector audit catches a host that proves segments but serves other bytes than its roots are of', async (t) => {
  const front = new HostileFront();
  const w = await committed(t, [3000], front);
  front.servedBytes = (bytes) => {
    const copy = Buffer.from(bytes);
    copy[copy.length - 1] ^= 0x01;
    return copy;
  };
  const [sector] = (await renterCommitment(w)).sectors;
  await missesWindow1(t, w);
  t.is(sector.root, (await w.client.roots())[0].root, 'the roots the host reports are of the bytes it holds');
});

test('a host that reports a made-up root for a sector it is given misses the windows that land on it', async (t) => {
  const w = await committed(t, []);
  const sector = randomBytes(32).toString('hex');
  await w.client.put(sector, randomBytes(3000));
  reportRoot(w, sector, randomBytes(32));
  await w.renter.svc.setExpectedSectors(w.contractId, [sector]);
  await w.renter.svc.fulfilment.round();
  t.like((await show(w.renter, w.contractId)).fulfilment!.commitment, { sectors: 1 }, 'the renter, which cannot tell yet, commits to the root reported');
  await missesWindow1(t, w);
});
