/**
 * Issue 24's "a host that goes" on a real dev network: a renter and six hosts
 * (each node and file server its own process, `devnet up --contracts`), the
 * default 2-of-4 policy, and every step through the real `cloudcoin store`
 * CLI. One host's node and file server are stopped for good: the next push
 * still stores 2-of-4 (exit 0), pull is identical, the renter's daemon
 * (given the store passphrase) rebuilds that host's shards on the five left,
 * and `store status` shows 100%. Then a host that stays up deletes its
 * shards: `store check` names them and `store repair` rebuilds them.
 */
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publicKeyOf } from '../src/lib/crypto/sig.js';
import { stopServer } from '../src/lib/devnet/server-process.js';
import { cli, cliOk, TEST_PASSPHRASE, type CliResult } from './util/cli.js';
import { type DevNode, waitFor, waitForLog } from './util/devnode.js';
import { mixedTree, walkTree, type MixedTree } from './util/tree.js';

interface Participant { name: string; datadir: string; port: number; httpPort: number; walletPort: number }

let dir: string;
let renter: Participant;
let hosts: Participant[];
let hostKeys: string[];
let tree: MixedTree;

function store(args: string[]): Promise<CliResult> {
  return cli(['store', ...args, '--datadir', renter.datadir, '--network', 'dev', '--json'], { timeoutMs: 180_000 });
}

async function pullsIdentical(t: any, snapshot: string, target: string): Promise<void> {
  const pull = await store(['pull', snapshot, target]);
  t.is(pull.code, 0, pull.stderr);
  t.deepEqual(pull.json.errors, []);
  const [a, b] = await Promise.all([walkTree(tree.root), walkTree(target)]);
  t.deepEqual(b.entries, a.entries);
  t.deepEqual(b.hardLinks, a.hardLinks);
}

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cc-repair-e2e-'));
  const up = await cli(['devnet', 'up', '--hosts', '6', '--dir', join(dir, 'devnet'), '--contracts', '--json'], { timeoutMs: 300_000 });
  if (up.code !== 0) throw new Error(`devnet up: ${up.stderr}`);
  [renter, ...hosts] = up.json.participants;
  hostKeys = await Promise.all(hosts.map(async (h) => Buffer.from(publicKeyOf(Buffer.from((await readFile(join(h.datadir, 'negotiator.key'), 'utf8')).trim(), 'hex'))).toString('hex')));
  tree = await mixedTree(join(dir, 'source'), { small: 400, depth: 20, bigBytes: 10 * 2 ** 20 });
});

test.after.always(async () => {
  if (dir) {
    await cli(['devnet', 'down', '--dir', join(dir, 'devnet')]);
    await rm(dir, { recursive: true, force: true });
  }
});

test.serial('six hosts, 2-of-4: one host gone for good, push still exits 0, pull is identical, the daemon repairs every sector back to 2-of-4 on the five left', async (t) => {
  t.timeout(600_000);
  t.is((await store(['init'])).code, 0);
  const first = await store(['push', tree.root]);
  t.is(first.code, 0, first.stderr);
  t.deepEqual([first.json.hosts, first.json.hostsDown, first.json.totalShards, first.json.minShards, first.json.warnings], [6, [], 4, 2, []]);
  const healthy = await store(['status']);
  t.is(healthy.code, 0, healthy.stderr);
  t.is(healthy.json.overall.health, 100);

  // Gone for good: its node and its file server stopped, never started again.
  const gone = hosts[0];
  await cliOk(['node', 'stop', '--datadir', gone.datadir]);
  await stopServer(gone.datadir);

  await writeFile(join(tree.root, 'after-the-loss.bin'), randomBytes(2 * 2 ** 20));
  const second = await store(['push', tree.root]);
  t.is(second.code, 0, second.stderr);
  t.deepEqual([second.json.hosts, second.json.hostsDown, second.json.totalShards, second.json.minShards], [5, [hostKeys[0]], 4, 2]);
  t.regex(second.stderr, new RegExp(`^warning: host ${hostKeys[0]} did not answer`));
  await pullsIdentical(t, second.json.snapshot, join(dir, 'restore-1'));

  // Within repairAfter (an hour by default) the host is waited for: below 100%, nothing lost.
  const waiting = await store(['status']);
  t.is(waiting.code, 6, waiting.stderr);
  t.true(waiting.json.overall.health < 100);
  t.is(waiting.json.overall.belowK, 0);

  // The renter's node restarted with the store passphrase and a policy that gives a silent host up at once.
  const configFile = join(renter.datadir, 'config.json');
  const config = JSON.parse(await readFile(configFile, 'utf8'));
  await writeFile(configFile, JSON.stringify({ ...config, renter: { repairAfter: 0 } }));
  const passFile = join(dir, 'store-pass');
  await writeFile(passFile, `${TEST_PASSPHRASE}\n`, { mode: 0o600 });
  await cliOk(['node', 'stop', '--datadir', renter.datadir]);
  await cliOk([
    'node', 'start', '--detach', '--network', 'dev', '--datadir', renter.datadir, '--store-passphrase-file', passFile,
    '--port', String(renter.port), '--http-port', String(renter.httpPort), '--wallet-port', String(renter.walletPort),
  ]);
  // A status run can find the store locked by the daemon's repair (exit 7): it is asked again.
  const after = (await waitFor(async () => {
    const r = await store(['status']);
    return r.code === 0 && r.json.overall.health === 100 ? r : null;
  }, 240_000, 'store status at 100%', 2000))!;
  await waitForLog(renter as unknown as DevNode, 'store repair: ', 10_000);
  const again = await store(['repair']);
  t.is(again.code, 0, again.stderr);
  t.deepEqual([again.json.repaired, again.json.belowN, again.json.lost], [0, [], []]);
  t.is(after.json.snapshots.length, 2);
  for (const s of after.json.snapshots) t.deepEqual([s.health, s.belowN, s.belowK], [100, 0, 0]);

  // The first snapshot's shards that were on the gone host are read from where repair put them.
  await rm(join(tree.root, 'after-the-loss.bin'));
  await pullsIdentical(t, first.json.snapshot, join(dir, 'restore-2'));
});

test.serial('a host that deletes its shards while staying up is named by store check, and store repair puts every sector back', async (t) => {
  t.timeout(300_000);
  // The daemon's own repair off (policy auto: false), so what finds the loss here is check.
  const configFile = join(renter.datadir, 'config.json');
  const config = JSON.parse(await readFile(configFile, 'utf8'));
  await writeFile(configFile, JSON.stringify({ ...config, renter: { repairAfter: 0, auto: false } }));
  await cliOk(['node', 'stop', '--datadir', renter.datadir]);
  await cliOk([
    'node', 'start', '--detach', '--network', 'dev', '--datadir', renter.datadir,
    '--port', String(renter.port), '--http-port', String(renter.httpPort), '--wallet-port', String(renter.walletPort),
  ]);

  const liar = hosts[1];
  const root = join(liar.datadir, 'sectors', 'sectors');
  const objects: string[] = [];
  for (const contract of await readdir(root)) {
    for (const fan of await readdir(join(root, contract))) {
      for (const name of await readdir(join(root, contract, fan))) if (/^[0-9a-f]{64}$/.test(name)) objects.push(join(root, contract, fan, name));
    }
  }
  t.true(objects.length > 0, 'the host held shards');
  for (const f of objects) await rm(f);

  const found = await store(['check']);
  t.is(found.code, 6, found.stderr);
  const missingOnLiar = found.json.missing.filter((m: any) => m.backend === hostKeys[1]);
  t.true(missingOnLiar.length > 0, 'check names the shards the host deleted');
  t.regex(found.stderr, new RegExp(`missing: ${hostKeys[1]} lacks `));

  const repaired = await store(['repair']);
  t.is(repaired.code, 0, repaired.stderr);
  t.true(repaired.json.repaired >= missingOnLiar.length, 'every deleted shard rebuilt');
  const status = await store(['status']);
  t.is(status.code, 0, status.stderr);
  t.is(status.json.overall.health, 100);
  const clean = await store(['check']);
  t.deepEqual([clean.json.missing, clean.json.corrupt], [[], []], clean.stderr);
  // The first snapshot is the tree as it is now (the first test took the later file out again).
  await pullsIdentical(t, (await store(['snapshots'])).json.snapshots[0].id, join(dir, 'restore-3'));
});

