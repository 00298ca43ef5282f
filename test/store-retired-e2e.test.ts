/**
 * A retired host through the real `cloudcoin store` CLI on a dev network: a
 * renter and three hosts (`devnet up --contracts`), 1-of-2. One host's file
 * server stops while its contract stays active; once repair has rebuilt its
 * shards on the host left, check exits 0 and names it retired. Its file
 * server back, prune deletes the copies it kept, and the data reads back whole.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publicKeyOf } from '../src/lib/crypto/sig.js';
import { startServerDetached, stopServer } from '../src/lib/devnet/server-process.js';
import { BIN, cli, type CliResult } from './util/cli.js';
import { walkTree } from './util/tree.js';

interface Participant { name: string; datadir: string; serverPort: number }

let dir: string;

test.after.always(async () => {
  if (dir) {
    await cli(['devnet', 'down', '--dir', join(dir, 'devnet')]);
    await rm(dir, { recursive: true, force: true });
  }
});

/** The ids of the objects a host's file server keeps on its disk. */
async function stored(host: Participant): Promise<string[]> {
  // <contract id>/<fan-out>/<object id>
  const files = (await readdir(join(host.datadir, 'sectors', 'sectors'), { recursive: true })).map((f) => f.split('/'));
  return files.filter((parts) => parts.length === 3 && /^[0-9a-f]{64}$/.test(parts[2])).map((parts) => parts[2]).sort();
}

test.serial('a host whose shards repair moved is retired: check exits 0 naming it; back, prune deletes its old copies and pull is identical', async (t) => {
  t.timeout(600_000);
  dir = mkdtempSync(join(tmpdir(), 'cc-retired-e2e-'));
  const up = await cli(['devnet', 'up', '--hosts', '3', '--dir', join(dir, 'devnet'), '--contracts', '--json'], { timeoutMs: 300_000 });
  t.is(up.code, 0, up.stderr);
  const [renter, ...hosts] = up.json.participants as Participant[];
  const keyOf = async (h: Participant) => Buffer.from(publicKeyOf(Buffer.from((await readFile(join(h.datadir, 'negotiator.key'), 'utf8')).trim(), 'hex'))).toString('hex');
  const store = (args: string[]): Promise<CliResult> => cli(['store', ...args, '--datadir', renter.datadir, '--network', 'dev', '--json'], { timeoutMs: 180_000 });

  // 1-of-2 on three hosts, so one host's shards have a host to go to; a silent host given up at once.
  const configFile = join(renter.datadir, 'config.json');
  const config = JSON.parse(await readFile(configFile, 'utf8'));
  await writeFile(configFile, JSON.stringify({ ...config, renter: { k: 1, n: 2, repairAfter: 0, auto: false } }));
  const source = join(dir, 'source');
  await mkdir(source);
  for (let i = 0; i < 3; i++) await writeFile(join(source, `part-${i}.bin`), randomBytes(1_500_000));
  t.is((await store(['init'])).code, 0);
  const push = await store(['push', source]);
  t.is(push.code, 0, push.stderr);
  const snapshot = push.json.snapshot as string;
  t.deepEqual([push.json.totalShards, push.json.minShards], [2, 1]);

  const held = await Promise.all(hosts.map(stored));
  const at = held.reduce((best, ids, i) => (ids.length > held[best].length ? i : best), 0);
  const gone = hosts[at];
  const goneKey = await keyOf(gone);
  const copies = held[at].filter((id) => id !== snapshot);
  t.true(copies.length > 0, 'the host holds shards');
  await stopServer(gone.datadir);

  // Still named by the records: exit 6, and at once (asked for each of its shards, its verifier's retries ran for hours).
  const waiting = await store(['check']);
  t.is(waiting.code, 6, waiting.stderr);
  t.like(waiting.json, { retired: [], unavailable: [goneKey] });
  const repair = await store(['repair']);
  t.is(repair.code, 0, repair.stderr);
  t.true(repair.json.shards >= copies.length);

  const checked = await store(['check']);
  t.is(checked.code, 0, checked.stderr);
  t.like(checked.json, { ok: true, retired: [goneKey], unavailable: [], missing: [], corrupt: [] });
  t.regex(checked.stderr, new RegExp(`^retired: ${goneKey} does not answer and holds nothing a snapshot needs`, 'm'));

  await startServerDetached(BIN, gone.datadir, gone.serverPort);
  const prune = await store(['prune']);
  t.is(prune.code, 0, prune.stderr);
  t.deepEqual([prune.json.superseded, prune.json.deleted], [copies.length, copies.length]);
  t.deepEqual(await stored(gone), [snapshot], 'only its copy of the manifest is left');

  const full = await store(['check', '--read-data']);
  t.is(full.code, 0, full.stderr);
  t.deepEqual(full.json.retired, []);
  const target = join(dir, 'restore');
  const pull = await store(['pull', snapshot, target]);
  t.is(pull.code, 0, pull.stderr);
  t.deepEqual((await walkTree(target)).entries, (await walkTree(source)).entries);
});
