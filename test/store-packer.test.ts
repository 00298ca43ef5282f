/**
 * The packer with its real parts (sector worker thread, LevelDB index, local
 * backends), fed by two lanes at once as files.ts feeds it: at most three
 * sector plaintexts exist however far the main thread runs ahead of the
 * worker, every chunk ends up in a stored sector, an upload error ends both
 * lanes, and so does a seal that fails, rather than leaving a lane waiting
 * for a buffer that never comes back.
 * Before the cap the first test also caught a chunk copied into a sector the
 * other lane had filled meanwhile, past its end (ERR_BUFFER_OUT_OF_BOUNDS).
 */
import test, { type ExecutionContext } from 'ava';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalBackend } from '../src/lib/store/backends/local.js';
import { StoreKeys } from '../src/lib/store/keys.js';
import { LocalIndex } from '../src/lib/store/localindex.js';
import type { ChunkRef } from '../src/lib/store/manifest.js';
import { Packer } from '../src/lib/store/packer.js';
import { SectorWorker } from '../src/lib/store/sectorworker.js';
import { ShardIO } from '../src/lib/store/shards.js';

/** The real worker, counting the sectors handed to it and not yet sealed: each holds a plaintext. */
class CountingWorker extends SectorWorker {
  sealing = 0;
  most = 0;
  override async seal(...args: Parameters<SectorWorker['seal']>): ReturnType<SectorWorker['seal']> {
    this.most = Math.max(this.most, ++this.sealing);
    try {
      return await super.seal(...args);
    } finally {
      this.sealing--;
    }
  }
}

/**
 * The real worker, whose thread is gone once three sectors wait for it (as after
 * a crash): none of their plaintexts comes back. It holds the first two until
 * the third comes, then lets the lanes run on to wait for a buffer first.
 */
class DyingWorker extends CountingWorker {
  private readonly _held: (() => void)[] = [];
  override async seal(...args: Parameters<SectorWorker['seal']>): ReturnType<SectorWorker['seal']> {
    const gate = new Promise<void>((resolve) => this._held.push(resolve));
    if (this._held.length === 3) setImmediate(() => void this.close().then(() => this._held.forEach((release) => release())));
    await gate;
    return super.seal(...args);
  }
}

async function setUp(t: ExecutionContext, { brokenHost = false, dying = false } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'cc-packer-'));
  const keys = new StoreKeys(randomBytes(32));
  const index = await LocalIndex.open(join(dir, 'index'));
  const worker = dying ? new DyingWorker(keys) : new CountingWorker(keys);
  if (brokenHost) await writeFile(join(dir, 'host2'), 'a file where the host directory should be');
  const hosts = [0, 1, 2].map((i) => new LocalBackend(`host${i}`, join(dir, `host${i}`), { sync: false }));
  const io = new ShardIO(hosts, { retries: 0 });
  // More sectors in flight than plaintexts: before the cap, each one waiting for the worker held its own.
  const packer = new Packer({ keys, index, io, hosts, k: 2, n: 3, parallel: 8, worker });
  t.teardown(async () => {
    await worker.close();
    await index.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { keys, index, worker, packer };
}

/** Adds `chunks` 8 at a time, as a lane adds a batch of a file's chunks. */
async function lane(packer: Packer, chunks: Buffer[]): Promise<ChunkRef[]> {
  const refs: ChunkRef[] = [];
  for (let i = 0; i < chunks.length; i += 8) refs.push(...(await packer.addAll(chunks.slice(i, i + 8))));
  return refs;
}

const chunks = (count: number) => Array.from({ length: count }, (_, i) => randomBytes(256 * 1024 + i * 4099));

test('two lanes at once: at most three plaintexts, and every chunk lands in a stored sector', async (t) => {
  const { keys, index, worker, packer } = await setUp(t);
  const a = chunks(100);
  const b = chunks(100);
  const [refsA, refsB] = await Promise.all([lane(packer, a), lane(packer, b)]);
  await packer.finish();
  t.true(packer.newSectors >= 12, `${packer.newSectors} sectors`);
  t.true(worker.most <= 3, `${worker.most} sectors held by the worker at once`);
  for (const [data, ref] of [...a.map((c, i) => [c, refsA[i]] as const), ...b.map((c, i) => [c, refsB[i]] as const)]) {
    t.is(ref[0], createHmac('sha256', keys.ids).update(data).digest('hex'));
    t.true(packer.used.has(ref[1]), 'the chunk names a sector of this push');
    t.deepEqual(await index.chunk(ref[0]), [ref[1], ref[2], ref[3]]);
  }
});

/** Both lanes and the final flush, run to their end: the errors they ended with. */
async function failures(packer: Packer): Promise<Error[]> {
  const results = await Promise.allSettled([lane(packer, chunks(100)), lane(packer, chunks(100))]);
  const finished = await packer.finish().then(
    () => null,
    (err: Error) => err,
  );
  return [...results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : [])), ...(finished ? [finished] : [])];
}

test('an upload that fails ends both lanes with its error', async (t) => {
  const { packer } = await setUp(t, { brokenHost: true });
  const errors = await failures(packer);
  t.true(errors.length > 0);
  for (const err of errors) t.regex(err.message, /shard\(s\) not stored.*host2/);
});

test('a seal that fails, with every plaintext lost in it, ends both lanes instead of leaving them waiting for a buffer', async (t) => {
  // Waiting forever is what this guards against: fail well before ava's own timeout.
  t.timeout(30_000);
  const { packer } = await setUp(t, { dying: true });
  const errors = await failures(packer);
  t.true(errors.length > 0);
  for (const err of errors) t.is(err.message, 'sector worker: closed');
});
