/**
 * Issue 25 item 1 on real nodes: a renter with a contract between two keys of
 * its own (here the renter and an accomplice host) tries to fill another
 * host's disk. That host's `cloudcoin serve`, and a standalone bundle asking
 * its node, serve only contracts whose host key is their Negotiator's
 * identity; and the contract's own host stores no more than its size.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileServerClient, FileServerError } from '../src/lib/server/index.js';
import { cli, cliOk } from './util/cli.js';
import { tempDir, waitFor } from './util/devnode.js';

const repo = dirname(dirname(fileURLToPath(import.meta.url)));
const idOf = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The standalone bundle's entry from source, asking the node at `negotiator`; resolves with its URL. */
async function bundleServer(t: ExecutionContext, negotiator: string, apiKey: string): Promise<string> {
  const args = ['--import=tsx', 'src/lib/server/bundle-main.ts', '--storage', join(tempDir(t), 'bundle'), '--port', '0', '--host', '127.0.0.1', '--negotiator', negotiator, '--log-format', 'none'];
  const child = spawn(process.execPath, args, { cwd: repo, env: { ...process.env, CLOUDCOIN_API_KEY: apiKey }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => void child.kill('SIGKILL'));
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  return new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (http:\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`bundle exited with ${code}: ${err}`)));
  });
}

function sectorFiles(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true }).map(String).filter((f) => !f.startsWith('tmp') && f.endsWith('.sector'));
  } catch {
    return [];
  }
}

test.serial("a contract with another host's key fills no disk but its own host's, and that only up to its size", async (t) => {
  const dir = join(tempDir(t), 'devnet');
  t.teardown(() => cli(['devnet', 'down', '--dir', dir]).then(() => undefined));
  const { participants } = (await cliOk(['devnet', 'up', '--hosts', '2', '--dir', dir, '--json'])).json;
  const [renter, victim, accomplice] = participants;
  const offer = (await cliOk(['contract', 'offer', '--datadir', accomplice.datadir, '--price', '10', '--collateral', '20',
    '--min-size', '1MiB', '--min-duration', '10', '--url', accomplice.serverUrl, '--json'])).json.offer;
  const accepted = await cliOk(['contract', 'accept', offer.hash, '--size', '8MiB', '--duration', '50', '--datadir', renter.datadir, '--json']);
  const contractId: string = accepted.json.negotiation.contractId;
  await cliOk(['node', 'mine', '1', '--datadir', renter.datadir]);

  // The victim's Negotiator knows the contract, active: only the host key can refuse it.
  const victimApiKey = readFileSync(join(victim.datadir, 'api.key'), 'utf8').trim();
  const victimNode = `http://127.0.0.1:${victim.httpPort}`;
  await waitFor(async () => {
    const res = await fetch(`${victimNode}/ext/negotiator/contracts/${contractId}`, { headers: { authorization: `Basic ${Buffer.from(`x:${victimApiKey}`).toString('base64')}` } });
    return res.status === 200 && ((await res.json()) as { state?: string }).state === 'active';
  }, 30_000, "the contract active on the victim's node");

  const secretKey = Buffer.from(readFileSync(join(renter.datadir, 'negotiator.key'), 'utf8').trim(), 'hex');
  const sector = randomBytes(1 << 20);
  const sectorId = idOf(sector);
  const attack = async (url: string) => {
    const client = new FileServerClient({ url, contractId, secretKey, retries: 0 });
    return t.throwsAsync(client.put(sectorId, sector), { instanceOf: FileServerError });
  };
  const viaServe = await attack(victim.serverUrl);
  t.is(viaServe!.status, 403);
  t.is(viaServe!.code, 'not-our-contract', "cloudcoin serve refuses a contract that names another host");
  t.deepEqual(sectorFiles(join(victim.datadir, 'sectors')), [], 'nothing was written on the victim');
  const viaBundle = await attack(await bundleServer(t, victimNode, victimApiKey));
  t.is(viaBundle!.status, 403);
  t.is(viaBundle!.code, 'not-our-contract', "the standalone bundle learns its host key from its Negotiator and refuses too");

  // The contract's own host stores it, and no byte beyond its 8 MiB.
  const own = new FileServerClient({ url: accomplice.serverUrl, contractId, secretKey, retries: 0 });
  await waitFor(async () => own.put(sectorId, sector).then(() => true, () => false), 30_000, "the accomplice's server taking the contract's first sector");
  const big = randomBytes(4 << 20);
  await own.put(idOf(big), big);
  const more = randomBytes(4 << 20);
  const over = await t.throwsAsync(own.put(idOf(more), more), { instanceOf: FileServerError });
  t.is(over!.status, 413);
  t.is(over!.code, 'over-contract');
  const listed = await own.list();
  t.is(listed.usedBytes, sector.length + big.length);
  t.true(listed.usedBytes <= listed.sizeBytes, 'the contract holds no more than its size');
});
