/**
 * `store check` on a live devnet (issue 24 item 5, issue 25 item 7): a renter
 * and three hosts, each its own node process with its file server. check
 * samples segments with Merkle proofs against the commitment each host
 * signed, so hosts that stay up but lost their shards, kept stubs of them,
 * or answer with another sector's data are found, host and shard named; and
 * a snapshot every host stops listing is noticed by snapshots, pull and prune.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { contractDevnetHosts, type DevnetTerms } from '../src/lib/devnet/contracts.js';
import type { Participant } from '../src/lib/devnet/participant.js';
import { showContract } from '../src/lib/renter/index.js';
import { cli, type CliResult } from './util/cli.js';
import { waitFor } from './util/devnode.js';
import { LiveDevnet } from './util/devnet.js';

const DURATION = 48;
const GIB = 2 ** 30;
const MONTH_BLOCKS = 4320;
const TERMS: DevnetTerms = {
  offer: { price: (600_000_000 * MONTH_BLOCKS) / DURATION, collateral: (1_200_000_000 * MONTH_BLOCKS) / DURATION, minSize: 2 ** 20, maxSize: GIB, minDuration: DURATION, maxDuration: DURATION, validity: 86_400 },
  take: { size: GIB, duration: DURATION },
};

/** The sector files a host's file server keeps for one contract, by id. */
async function sectorFiles(host: Participant, contractId: string): Promise<Map<string, string>> {
  const root = join(host.datadir, 'sectors', 'sectors', contractId);
  const out = new Map<string, string>();
  for (const fan of await readdir(root).catch(() => [] as string[])) {
    for (const name of await readdir(join(root, fan))) if (/^[0-9a-f]{64}$/.test(name)) out.set(name, join(root, fan, name));
  }
  return out;
}

/**
 * Replaces a sector file's bytes in place with `bytes` (same size) and puts its
 * mtime back to the nanosecond: the file server's cached root still looks
 * valid, as a host lying about what it holds would make it.
 */
async function swapInPlace(path: string, bytes: Buffer): Promise<void> {
  const before = await stat(path, { bigint: true });
  const fh = await open(path, 'r+');
  try {
    await fh.write(bytes, 0, bytes.length, 0);
  } finally {
    await fh.close();
  }
  const ns = before.mtimeNs;
  await promisify(execFile)('touch', ['-m', '-d', `@${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`, path]);
  const after = await stat(path, { bigint: true });
  if (after.mtimeNs !== ns || after.size !== before.size || after.ino !== before.ino) throw new Error('the swapped sector does not keep its identity');
}

test.serial('store check proves sampled segments against each host\'s commitment: stubs, lost shards and swapped data are named; a hidden snapshot stops pull latest and prune', async (t) => {
  t.timeout(600_000);
  const net = await LiveDevnet.up(t, 3);
  const renter = net.get('renter');
  const [A, B, C] = ['host1', 'host2', 'host3'].map((n) => net.get(n));
  const hosts = [A, B, C];
  const running = [renter, ...hosts];
  await net.mine(renter, hosts.length, running);
  const made = await contractDevnetHosts(net.participants, TERMS);
  const cid = new Map(hosts.map((h) => [h, made.find((c) => c.host === h.name)!.contractId]));
  const keyOf = new Map(await Promise.all(hosts.map(async (h) => [h, (await showContract(net.client(renter), cid.get(h)!)).hostKey as string] as const)));
  const store = (args: string[]): Promise<CliResult> => cli(['store', ...args, '--datadir', renter.datadir, '--json'], { timeoutMs: 180_000 });
  const committed = async (h: Participant) => (await showContract(net.client(renter), cid.get(h)!)).fulfilment?.commitment?.sectors ?? 0;

  // The daemon's own work held back: what is pushed now is in no commitment yet.
  await net.client(renter).node('POST', '/ext/negotiator/fulfilment', { automatic: false });
  const data = join(net.dir, 'data');
  await mkdir(data, { recursive: true });
  for (let i = 0; i < 3; i++) await writeFile(join(data, `part-${i}.bin`), randomBytes(1_500_000));
  await net.run(renter, ['store', 'init']);
  const older = (await net.run(renter, ['store', 'push', data])).snapshot as string;
  t.deepEqual(await Promise.all(hosts.map(committed)), [0, 0, 0]);
  const early = await store(['check']);
  t.is(early.code, 0, early.stderr);
  t.true(early.json.ok);
  t.is(early.json.uncommitted.length, early.json.shards, 'every shard checked against the roots its host serves, and said so');
  t.true(early.json.sampled.segments > 0);

  await net.client(renter).node('POST', '/ext/negotiator/fulfilment', { automatic: true });
  await net.mine(renter, 1, running);
  await waitFor(async () => {
    const counts = await Promise.all(hosts.map(async (h) => [await committed(h), (await sectorFiles(h, cid.get(h)!)).size]));
    return counts.every(([c, files]) => c > 0 && c === files);
  }, 120_000, 'a commitment revision over everything each host holds');

  const clean = await store(['check', '--sample', '3']);
  t.is(clean.code, 0, clean.stderr);
  t.like(clean.json, { ok: true, missing: [], corrupt: [], unavailable: [], uncommitted: [] });
  t.true(clean.json.sampled.segments > clean.json.shards && clean.json.sampled.segments <= 3 * clean.json.shards, `${clean.json.sampled.segments} segments for ${clean.json.shards} shards`);
  t.true(clean.json.sampled.bytes > 0 && clean.json.sampled.bytes <= 64 * clean.json.sampled.segments);
  t.regex(clean.stdout, /"segments"/);
  const full = await store(['check', '--read-data']);
  t.is(full.code, 0, full.stderr);
  // What each host must hold for that snapshot: its shards (its manifest aside).
  const held = new Map(await Promise.all(hosts.map(async (h) => [h, [...(await sectorFiles(h, cid.get(h)!)).keys()].filter((id) => id !== older).sort()] as const)));

  // Hosts hide the newest snapshot: every one of them drops its manifest.
  await writeFile(join(data, 'later.txt'), 'pushed last\n');
  const newest = (await net.run(renter, ['store', 'push', data])).snapshot as string;
  for (const h of hosts) await rm((await sectorFiles(h, cid.get(h)!)).get(newest)!);
  const listed = await store(['snapshots']);
  t.is(listed.code, 0, listed.stderr);
  t.deepEqual(listed.json.snapshots.map((s: any) => s.id), [older]);
  t.deepEqual(listed.json.hidden.map((s: any) => s.id), [newest]);
  t.regex(listed.stderr, new RegExp(`warning: snapshot ${newest.slice(0, 16)} .* is listed by no host`));
  const pull = await store(['pull', 'latest', join(net.dir, 'restore')]);
  t.is(pull.code, 6, pull.stderr);
  t.regex(pull.stderr, new RegExp(`${newest.slice(0, 16)}.*listed by no host`));
  const prune = await store(['prune']);
  t.is(prune.code, 1, prune.stderr);
  t.regex(prune.stderr, /prune refused: 1 snapshot\(s\) seen before are listed by no host .*--forget-hidden/);
  const named = await store(['pull', older, join(net.dir, 'restore')]);
  t.is(named.code, 0, named.stderr);
  t.deepEqual(await readFile(join(net.dir, 'restore', 'part-0.bin')), await readFile(join(data, 'part-0.bin')));

  // C answers for one shard with another sector's bytes, its cached root kept valid: only the segment proofs can tell.
  const onC = await sectorFiles(C, cid.get(C)!);
  const [swapped, donor] = held.get(C)!.slice(0, 2);
  const size = (await stat(onC.get(swapped)!)).size;
  const bytes = Buffer.alloc(size);
  (await readFile(onC.get(donor)!)).copy(bytes);
  await swapInPlace(onC.get(swapped)!, bytes);
  const one = await store(['check']);
  t.is(one.code, 6, one.stderr);
  t.deepEqual(one.json.corrupt.map((c: any) => [c.backend, c.shard]), [[keyOf.get(C), swapped]]);
  t.regex(one.json.corrupt[0].reason, /^segment \d+: the proof does not match the committed root$/);
  t.regex(one.stderr, new RegExp(`corrupt: ${keyOf.get(C)} fails ${swapped.slice(0, 16)}: segment`));

  // B keeps a stub of each shard (its first 1 KiB) and stays up.
  const bShards = held.get(B)!;
  const onB = await sectorFiles(B, cid.get(B)!);
  for (const id of bShards) await writeFile(onB.get(id)!, (await readFile(onB.get(id)!)).subarray(0, 1024));
  const stubs = await store(['check']);
  t.is(stubs.code, 6, stubs.stderr);
  const corruptOnB = stubs.json.corrupt.filter((c: any) => c.backend === keyOf.get(B));
  t.deepEqual(corruptOnB.map((c: any) => c.shard).sort(), bShards, 'every stub on B is named');
  t.true(corruptOnB.every((c: any) => /committed/.test(c.reason)));
  t.deepEqual(stubs.json.corrupt.filter((c: any) => c.backend !== keyOf.get(B)).map((c: any) => c.shard), [swapped]);

  // Then B deletes them.
  for (const id of bShards) await rm(onB.get(id)!);
  const gone = await store(['check']);
  t.is(gone.code, 6, gone.stderr);
  t.deepEqual(gone.json.missing.map((m: any) => m.shard).sort(), bShards);
  t.true(gone.json.missing.every((m: any) => m.backend === keyOf.get(B)));
  t.regex(gone.stderr, new RegExp(`missing: ${keyOf.get(B)} lacks ${bShards[0].slice(0, 16)}`));

  // --read-data still reads everything: the sector that lost B's shard and C's has one good shard of the two it needs.
  const read = await store(['check', '--read-data']);
  t.is(read.code, 1, read.stderr);
  t.true(read.json.unreadable.length >= 1);
  t.true(read.json.corrupt.some((c: any) => c.backend === keyOf.get(C) && c.shard === swapped));
  t.deepEqual(read.json.sampled, { segments: 0, bytes: 0 });
});
