/**
 * Issue 25 items 4 and 5 on real processes: a devnet host's `cloudcoin serve`
 * asking its own node's Negotiator, attacked as the unit tests attack it
 * against stand-ins (server-http, server-auth, server-process): a signed
 * request replayed with another Range or segment, a used nonce, a stranger
 * past its address's refusal budget, a flood of fresh keys and made-up
 * contract ids, and then the host's node stopped. One devnet for the file;
 * the tests run in order on it, the node stop last.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { merkleRoot, SEGMENT_SIZE, verifyMerkleProof } from '../src/lib/crypto/merkle.js';
import { generateKeyPair } from '../src/lib/crypto/sig.js';
import { FileServerClient, FileServerError } from '../src/lib/server/index.js';
import { EMPTY_SHA256, signRequest } from '../src/lib/server/request-auth.js';
import { cli, cliOk } from './util/cli.js';
import { waitFor } from './util/devnode.js';

interface Participant { name: string; datadir: string; httpPort: number; serverUrl: string }

/** An answer of the host's server: its status, error code ('' for none), body and Retry-After. */
interface Answer { status: number; code: string; body: Buffer; retryAfter: string | undefined }

const newId = () => randomBytes(32).toString('hex');

/** The file server's default refusal budget per client address (docs/server.md, "Limits and safety"): a burst of 200. */
const REFUSAL_BURST = 200;
/** Fresh keys signing for the real contract; their refusals are 403 wrong-key. */
const STRANGERS = 1_000;
/** Flood requests are spread over this many loopback addresses, each staying under REFUSAL_BURST. */
const FLOOD_ADDRESSES = 100;

let dir: string;
let host: Participant;
let contractId: string;
let renterKey: Buffer;
let client: FileServerClient;
const sectorId = newId();
const sector = randomBytes(10_000);

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cc-serve-attacks-'));
  const { participants } = (await cliOk(['devnet', 'up', '--hosts', '1', '--dir', join(dir, 'devnet'), '--json'])).json;
  const renter: Participant = participants[0];
  host = participants[1];
  const offer = (await cliOk(['contract', 'offer', '--datadir', host.datadir, '--price', '10', '--collateral', '20',
    '--min-size', '1MiB', '--min-duration', '10', '--url', host.serverUrl, '--json'])).json.offer;
  const accepted = await cliOk(['contract', 'accept', offer.hash, '--size', '8MiB', '--duration', '50', '--datadir', renter.datadir, '--json']);
  contractId = accepted.json.negotiation.contractId;
  await cliOk(['node', 'mine', '1', '--datadir', renter.datadir]);
  renterKey = Buffer.from((await readFile(join(renter.datadir, 'negotiator.key'), 'utf8')).trim(), 'hex');
  client = new FileServerClient({ url: host.serverUrl, contractId, secretKey: renterKey, retries: 0 });
  // The host's node records the contract once the funding is mined; until then the server answers unknown-contract.
  await waitFor(async () => client.put(sectorId, sector).then(() => true, () => false), 60_000, "the host's server taking the contract's first sector");
});

test.after.always(async () => {
  if (!dir) return;
  await cli(['devnet', 'down', '--dir', join(dir, 'devnet')]);
  await rm(dir, { recursive: true, force: true });
});

/** The path of a sector request on the host's server. */
const sectorPath = (contract = contractId, sid = sectorId) => `/v1/contracts/${contract}/sectors/${sid}`;

/** A renter's signed GET of the test sector, with `range` when given (sent as the Range header too). */
function renterGet(range?: string): Record<string, string> {
  const headers = signRequest({ contractId, sectorId, operation: 'GET', bodySha256: EMPTY_SHA256, range }, renterKey);
  return range === undefined ? headers : { ...headers, range };
}

/**
 * One GET on the host's server through `agent` (by default from 127.0.0.1,
 * the renter's address). A kept connection the server closes as the request
 * goes out is asked again on a new one: nothing was answered on it.
 */
async function send(path: string, headers: Record<string, string>, agent?: Agent): Promise<Answer> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await _send(new URL(path, host.serverUrl), headers, agent);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET' || attempt >= 2) throw err;
    }
  }
}

function _send(url: URL, headers: Record<string, string>, agent: Agent | undefined): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const json = (res.headers['content-type'] ?? '').startsWith('application/json') && (res.statusCode ?? 0) >= 400;
        const code = json ? ((JSON.parse(body.toString('utf8')) as { error?: { code?: string } }).error?.code ?? '') : '';
        resolve({ status: res.statusCode ?? 0, code, body, retryAfter: res.headers['retry-after'] });
      });
    });
    req.on('error', reject).end();
  });
}

/** Counts `a` under "status code" in `answers`. */
function tally(answers: Map<string, number>, a: Answer): void {
  const k = `${a.status} ${a.code}`.trim();
  answers.set(k, (answers.get(k) ?? 0) + 1);
}

test.serial('a signed GET replayed with another Range, and a signed proof with another segment, are 401 bad-signature; as signed they answer exactly that', async (t) => {
  const get = renterGet('bytes=0-99');
  for (const range of ['bytes=100-199', 'bytes=0-9999', 'bytes=-100', undefined]) {
    const headers = range === undefined ? Object.fromEntries(Object.entries(get).filter(([name]) => name !== 'range')) : { ...get, range };
    const a = await send(sectorPath(), headers);
    t.deepEqual([a.status, a.code], [401, 'bad-signature'], `Range ${range ?? 'dropped'}`);
  }
  const served = await send(sectorPath(), get);
  t.is(served.status, 206);
  t.deepEqual(served.body, sector.subarray(0, 100), 'exactly the signed range');

  const proof = signRequest({ contractId, sectorId, operation: 'PROOF', bodySha256: EMPTY_SHA256, segment: 3 }, renterKey);
  const other = await send(`${sectorPath()}/proof?segment=4`, proof);
  t.deepEqual([other.status, other.code], [401, 'bad-signature'], 'segment 4 with a signature for 3');
  const answer = await send(`${sectorPath()}/proof?segment=3`, proof);
  t.is(answer.status, 200);
  const p = JSON.parse(answer.body.toString('utf8')) as { segmentIndex: number; sectorSize: number; segment: string; proof: string[] };
  t.is(p.segmentIndex, 3);
  const segment = Buffer.from(p.segment, 'hex');
  t.deepEqual(segment, sector.subarray(3 * SEGMENT_SIZE, 4 * SEGMENT_SIZE), 'exactly the signed segment');
  t.true(verifyMerkleProof(merkleRoot(sector), { segmentIndex: 3, sectorSize: p.sectorSize, segment, proof: p.proof.map((h) => Buffer.from(h, 'hex')) }));
});

test.serial("a used nonce is refused; a stranger past its address's refusal budget is turned away unchecked while the renter is served", async (t) => {
  const get = renterGet();
  const first = await send(sectorPath(), get);
  t.is(first.status, 200);
  t.deepEqual(first.body, sector);
  const replay = await send(sectorPath(), get);
  t.deepEqual([replay.status, replay.code], [401, 'replay']);

  const stranger = generateKeyPair();
  const agent = new Agent({ keepAlive: true, localAddress: '127.0.9.1' });
  t.teardown(() => agent.destroy());
  const answers = new Map<string, number>();
  let turnedAway: Answer | undefined;
  // Concurrent, so that the refusals outrun the budget's refill (20 a second) however slow the machine.
  const worker = async () => {
    for (let i = 0; i < 10 * REFUSAL_BURST && turnedAway === undefined; i++) {
      const headers = signRequest({ contractId, sectorId, operation: 'GET', bodySha256: EMPTY_SHA256 }, stranger.secretKey, stranger.publicKey);
      const a = await send(sectorPath(), headers, agent);
      tally(answers, a);
      if (a.status === 429) turnedAway = a;
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  t.log(`a stranger's requests from one address: ${JSON.stringify(Object.fromEntries(answers))}`);
  t.is(turnedAway?.code, 'too-many-failures');
  t.true(Number(turnedAway?.retryAfter) >= 1, 'with a Retry-After');
  t.true((answers.get('403 wrong-key') ?? 0) >= REFUSAL_BURST, 'refused one by one up to the burst first');
  t.deepEqual([...answers.keys()].sort(), ['403 wrong-key', '429 too-many-failures']);
  // The budget refills a token every 50 ms, which a loaded machine can spend between two requests:
  // spend it again just before the renter's request, a few times, and ask for one 429 among them.
  const fromThere: Answer[] = [];
  for (let i = 0; i < 5 && !fromThere.some((a) => a.status === 429); i++) {
    await Promise.all(Array.from({ length: 4 }, () => send(sectorPath(), signRequest({ contractId, sectorId, operation: 'GET', bodySha256: EMPTY_SHA256 }, stranger.secretKey, stranger.publicKey), agent)));
    fromThere.push(await send(sectorPath(), renterGet(), agent));
  }
  t.deepEqual(fromThere.map((a) => [a.status, a.code]).find(([status]) => status === 429), [429, 'too-many-failures'], `that address is turned away before its signature is checked (${fromThere.map((a) => a.status).join(', ')})`);
  t.true(fromThere.every((a) => a.status === 429 || a.status === 200), 'a renter request from there is either turned away or served');
  const renterServed = await send(sectorPath(), renterGet());
  t.is(renterServed.status, 200, 'the renter, from its own address, is served');
  t.deepEqual(renterServed.body, sector);
});

test.serial('fresh keys for the real contract, then more made-up contract ids than the cache holds: no nonce or bucket kept for them, every map within its cap', async (t) => {
  t.timeout(10 * 60_000, 'about 20 s on an idle machine');
  const before = (await client.status()).memory;
  // More made-up ids than the known contracts' cache holds: one cache for both would have dropped the real contract.
  const madeUp = before.knownContracts.max + 500;
  const total = STRANGERS + madeUp;
  const agents = Array.from({ length: FLOOD_ADDRESSES }, (_, i) => new Agent({ keepAlive: true, localAddress: `127.0.${1 + (i >> 8)}.${i & 255}` }));
  t.teardown(() => agents.forEach((a) => a.destroy()));
  const answers = new Map<string, number>();
  // The strangers on the real contract first: made-up ids alone come after its last look-up.
  let next = 0;
  const worker = async (end: number, contract: () => string) => {
    while (next < end) {
      const i = next++;
      const fresh = generateKeyPair();
      const id = contract();
      const sid = newId();
      const headers = signRequest({ contractId: id, sectorId: sid, operation: 'GET', bodySha256: EMPTY_SHA256 }, fresh.secretKey, fresh.publicKey);
      tally(answers, await send(sectorPath(id, sid), headers, agents[i % FLOOD_ADDRESSES]));
    }
  };
  const t0 = Date.now();
  await Promise.all(Array.from({ length: 32 }, () => worker(STRANGERS, () => contractId)));
  await Promise.all(Array.from({ length: 32 }, () => worker(total, newId)));
  t.log(`${total} requests from fresh keys in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${JSON.stringify(Object.fromEntries(answers))}`);
  t.deepEqual(Object.fromEntries(answers), { '403 wrong-key': STRANGERS, '403 unknown-contract': madeUp }, 'each was refused at its contract, none earlier');

  const m = (await client.status()).memory;
  t.log(`state before: ${JSON.stringify(before)}`);
  t.log(`state after: ${JSON.stringify(m)}`);
  for (const [name, b] of Object.entries(m)) if (typeof b === 'object') t.true(b.size <= b.max, `${name} ${b.size} <= ${b.max}`);
  t.true(m.nonces.size <= before.nonces.size, `no nonce kept for a stranger (${m.nonces.size}, the renter's requests left ${before.nonces.size})`);
  t.true(m.renterKeys.size <= 1, `only the renter has a rate-limit bucket (${m.renterKeys.size})`);
  t.is(m.unknownContracts.size, Math.min(madeUp, m.unknownContracts.max), "every made-up id was asked of the host's Negotiator, in a map of its own");
  t.is(m.knownContracts.size, before.knownContracts.size, 'no made-up id was taken for a contract');
  t.true(m.refusedAddresses.size <= before.refusedAddresses.size + FLOOD_ADDRESSES);
});

test.serial("with the host's node stopped after the flood, the real contract is still served to its renter from the cache; an id it does not know is 503", async (t) => {
  await cliOk(['node', 'stop', '--datadir', host.datadir]);
  const unknown = new FileServerClient({ url: host.serverUrl, contractId: newId(), secretKey: renterKey, retries: 0 });
  const err = await t.throwsAsync(unknown.list(), { instanceOf: FileServerError });
  t.deepEqual([err?.status, err?.code], [503, 'authority-unavailable'], 'the Negotiator is gone and the server does not guess');
  t.deepEqual(Buffer.from(await client.get(sectorId)), sector, 'the real contract is served from the cache');
  t.deepEqual(Buffer.from(await client.get(sectorId, { offset: 100, length: 50 })), sector.subarray(100, 150), 'ranged reads too');
  t.not((await client.status()).authority.unreachableSince, null);
});
