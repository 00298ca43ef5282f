/**
 * SectorWorker.open on its real worker thread: a sector given as unchecked
 * shards decrypts and its chunks are checked; the shards' memory comes back
 * as spare, moved rather than copied; a plaintext buffer lent is decrypted
 * into and comes back; a wrong shard is named by index, not decrypted;
 * without shard ids a sector that does not decrypt is an error; a worker
 * started before its first sector serves it, and idle does not keep a
 * process alive.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudCoinError } from '../src/lib/errors.js';
import { shardSize } from '../src/lib/store/erasure.js';
import { StoreKeys } from '../src/lib/store/keys.js';
import { SECTOR_MAX, SECTOR_PLAIN_MAX, sealToShards } from '../src/lib/store/sector.js';
import { SectorWorker } from '../src/lib/store/sectorworker.js';

/**
 * Runs `body` as a module file of its own, after it imported the compiled
 * SectorWorker and StoreKeys (npm test builds first: from source, tsx's loader
 * in the worker holds a port open that the product never has). A file, not
 * --input-type=module -e: the worker inherits the flag and fails to start.
 * No pipe to the child either: an open one would keep it alive and hide the fault.
 */
async function runScript(body: string): Promise<[number | null, NodeJS.Signals | null]> {
  const dir = mkdtempSync(join(tmpdir(), 'cc-worker-'));
  try {
    const dist = new URL('../dist/src/lib/store/', import.meta.url);
    const file = join(dir, 'script.mjs');
    writeFileSync(file, `const { SectorWorker } = await import(${JSON.stringify(new URL('sectorworker.js', dist).href)});
const { StoreKeys } = await import(${JSON.stringify(new URL('keys.js', dist).href)});
${body}`);
    const child = spawn(process.execPath, [file], { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const [code, signal] = await once(child, 'exit');
    clearTimeout(timer);
    return [code, signal];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const keys = new StoreKeys(randomBytes(32));

function sealed() {
  const plain = randomBytes(1_000_003);
  const chunkId = createHmac('sha256', keys.ids).update(plain).digest('hex');
  const s = sealToShards(keys, plain, [chunkId], 2, 3);
  return { plain, chunkId, ...s };
}

/** Copies of the shards at the start of buffers of the largest shard size, as the reader lends them. */
function lend(shards: Buffer[]): { views: Buffer[]; lent: Set<ArrayBufferLike> } {
  const views = shards.map((s) => {
    const b = Buffer.allocUnsafe(shardSize(SECTOR_MAX, 2));
    s.copy(b);
    return b.subarray(0, s.length);
  });
  return { views, lent: new Set(views.map((v) => v.buffer)) };
}

test('unchecked shards open; chunks are checked; the lent memory comes back, moved', async (t) => {
  const worker = new SectorWorker(keys);
  t.teardown(() => worker.close());
  const s = sealed();
  const { views, lent } = lend(s.shards.slice(0, 2));
  const r = await worker.open(s.id, 2, s.size, [views[0], views[1], null], [[s.chunkId, 0, s.plain.length], ['0'.repeat(64), 0, 10]], s.ids, { lent });
  t.false('wrong' in r);
  if ('wrong' in r) return;
  t.true(r.plain.equals(s.plain));
  t.deepEqual(r.bad, ['0'.repeat(64)]);
  t.deepEqual(r.spare.map((b) => b.length), [shardSize(SECTOR_MAX, 2), shardSize(SECTOR_MAX, 2)]);
  t.deepEqual(views.map((v) => v.buffer.byteLength), [0, 0], 'moved to the worker, not copied');
});

test('a plaintext buffer lent is decrypted into, moved there and back', async (t) => {
  const worker = new SectorWorker(keys);
  t.teardown(() => worker.close());
  const s = sealed();
  const into = Buffer.alloc(SECTOR_PLAIN_MAX, 0xee);
  const r = await worker.open(s.id, 2, s.size, [Buffer.from(s.shards[0]), null, Buffer.from(s.shards[2])], [], s.ids, { plainInto: into });
  if ('wrong' in r) return t.fail('did not decrypt');
  t.is(into.buffer.byteLength, 0, 'moved to the worker, not copied');
  t.is(r.plain.buffer.byteLength, SECTOR_PLAIN_MAX, 'the plaintext is a view of the lent memory');
  t.is(r.plain.byteOffset, 0);
  t.true(r.plain.equals(s.plain));
  await t.throwsAsync(worker.open(s.id, 2, s.size, [s.shards[0], s.shards[1], null], [], s.ids, { plainInto: Buffer.alloc(8192).subarray(1) }), { instanceOf: RangeError });
});

test('a shard with wrong bytes is named by its index, with the memory back', async (t) => {
  const worker = new SectorWorker(keys);
  t.teardown(() => worker.close());
  const s = sealed();
  const { views, lent } = lend([s.shards[0], s.shards[2]]);
  views[1][1000] ^= 1;
  const r = await worker.open(s.id, 2, s.size, [views[0], null, views[1]], [], s.ids, { lent });
  t.deepEqual('wrong' in r ? r.wrong : null, [2]);
  t.is(r.spare.length, 2);
});

test('without shard ids, a sector that does not decrypt is an ECORRUPT error', async (t) => {
  const worker = new SectorWorker(keys);
  t.teardown(() => worker.close());
  const s = sealed();
  const bad = Buffer.from(s.shards[1]);
  bad[0] ^= 1;
  const err = await t.throwsAsync(worker.open(s.id, 2, s.size, [Buffer.from(s.shards[0]), bad, null]), { instanceOf: CloudCoinError });
  t.is(err?.code, 'ECORRUPT');
});

test('closing a worker whose last reply comes in while it stops settles, with nothing else keeping the process alive', async (t) => {
  // An interrupted pull closed the store while a sector fetched ahead was being opened: the
  // reply, delivered during terminate(), unreferenced the worker, and the process exited 13
  // with the close still awaited.
  const exit = await runScript(`const w = new SectorWorker(new StoreKeys(Buffer.alloc(32, 1)));
const sealing = w.seal(Buffer.alloc(1 << 20, 7), 1000, ['00'.repeat(32)], 2, 3);
sealing.catch(() => undefined);
await new Promise((r) => setImmediate(r));
// The main thread busy while the worker starts and replies: the reply waits in the port.
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1500);
await w.close();
process.exitCode = 3;`);
  t.deepEqual(exit, [3, null], 'the close settled (exit 13: it never did)');
});

test('a worker started early serves the first seal; started and idle, it lets the process exit', async (t) => {
  const w = new SectorWorker(keys);
  t.teardown(() => w.close());
  w.start();
  w.start();
  const plain = Buffer.allocUnsafe(SECTOR_PLAIN_MAX);
  randomBytes(1000).copy(plain);
  const s = await w.seal(plain, 1000, [createHmac('sha256', keys.ids).update(plain.subarray(0, 1000)).digest('hex')], 2, 3);
  t.is(s.shards.length, 3);
  // In a process of its own: nothing but an idle, started worker, which must not keep it running.
  const exit = await runScript(`const w = new SectorWorker(new StoreKeys(Buffer.alloc(32, 1)));
w.start();
// Started for real: a seal answered, then idle.
await w.seal(Buffer.alloc(1 << 20, 7), 1000, ['00'.repeat(32)], 2, 3).catch(() => undefined);`);
  t.deepEqual(exit, [0, null], 'exited on its own');
});
