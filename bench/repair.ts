/**
 * Repair figures: six file servers as `cloudcoin serve` runs them (each its
 * own process on 127.0.0.1), the default 2-of-4 policy, a push of
 * CC_BENCH_REPAIR_MB (default 64) of incompressible files; then one server is
 * stopped for good and the engine repairs as the node's own rounds would:
 *
 * - repair throughput: bytes of shards rebuilt and uploaded per second of
 *   `repair()`, beside the bytes a plain push of the same tree uploaded per
 *   second, measured in this run;
 * - seconds from the server going silent to every sector at full redundancy
 *   again (`status()` at 100%) with repairAfter = 0: what detection and
 *   repair cost. A real node waits repairAfter first (an hour by default),
 *   and up to a quarter of it more for its next round (docs/store.md).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BenchServer, benchContract, fakeNegotiator, startFileServer, stopFileServers } from './fileservers.js';
import type { BenchSuite, Figure } from './harness.js';
import { noise } from './pipeline.js';
import { HostBackend } from '../src/lib/store/backends/host.js';
import { Store, StoreKeys } from '../src/lib/store/index.js';

const MiB = 1024 * 1024;
const HOSTS = 6;

function _mb(): number {
  const v = process.env.CC_BENCH_REPAIR_MB;
  const n = v === undefined ? 64 : Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`CC_BENCH_REPAIR_MB must be a positive number of MB, got ${JSON.stringify(v)}`);
  return n;
}

async function _tree(root: string, bytes: number): Promise<void> {
  await mkdir(root, { recursive: true });
  for (let i = 0, left = bytes; left > 0; i++, left -= 8 * MiB) await writeFile(join(root, `file-${i}.bin`), noise(Math.min(8 * MiB, left)));
}

async function _run(): Promise<Figure[]> {
  const base = await mkdtemp(join(tmpdir(), 'cc-bench-repair-'));
  const contracts = Array.from({ length: HOSTS }, () => benchContract(randomBytes(32).toString('hex')));
  const neg = await fakeNegotiator(contracts);
  const servers: BenchServer[] = [];
  let store: Store | null = null;
  try {
    for (let i = 0; i < HOSTS; i++) servers.push(await startFileServer(join(base, `server${i}`), neg.url));
    const backends = servers.map((s, i) => new HostBackend({ name: `host${i}`, url: s.url, contractId: contracts[i].contractId, secretKey: contracts[i].keys.secretKey, retries: 1 }));
    const bytes = Math.round(_mb() * MiB);
    await _tree(join(base, 'src'), bytes);
    store = await Store.open({ keys: new StoreKeys(randomBytes(32)), backends, stateDir: join(base, 'state'), probeTimeoutMs: 2000 });
    const push = await store.push(join(base, 'src'));
    if (push.warnings.length > 0) throw new Error(`the push was not at full redundancy: ${push.warnings.join('; ')}`);

    // Four shards a sector over six hosts by rotation: the one that goes held a shard of about two sectors in three.
    const gone = servers[0];
    await stopFileServers([gone]);
    const silent = performance.now();
    const repaired = await store.repair({ repairAfter: 0 });
    const status = await store.status({ repairAfter: 0 });
    const safe = (performance.now() - silent) / 1000;
    if (status.overall.health !== 100 || repaired.lost.length > 0) throw new Error(`repair left health at ${status.overall.health}% (${repaired.lost.length} sectors lost)`);
    const pushRate = push.uploaded / MiB / push.seconds;
    return [
      { name: `repair: shards rebuilt and uploaded (${(repaired.bytes / MiB).toFixed(0)} MiB of ${repaired.repaired} sectors)`, value: repaired.bytes / MiB / repaired.seconds, unit: 'MiB/s', reference: { name: `push of the same tree, uploaded`, value: pushRate, unit: 'MiB/s' } },
      { name: 'repair: host silent -> every sector at 2-of-4 (repairAfter 0)', value: safe, unit: 's', reference: { name: `push of ${(bytes / MiB).toFixed(0)} MiB`, value: push.seconds, unit: 's' } },
    ];
  } finally {
    await store?.close();
    await stopFileServers(servers);
    neg.server.close();
    await rm(base, { recursive: true, force: true });
  }
}

export const repairBench: BenchSuite = { name: 'repair', run: _run };
