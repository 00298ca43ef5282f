import test, { type ExecutionContext } from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readdir, writeFile } from 'node:fs/promises';
import { type ClientRequest, createServer, request } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { generateKeyPair, sign } from '../src/lib/crypto/sig.js';
import { ExitCode } from '../src/lib/errors.js';
import {
  AuthorityUnavailableError,
  FileServerClient,
  FileServerError,
  HttpContractAuthority,
  merkleRoot,
  startFileServer,
  verifyMerkleProof,
  type ContractAuthority,
  type FileServerOptions,
} from '../src/lib/server/index.js';
import type { ContractInfo } from '../src/lib/negotiator/entries.js';
import { signRequest, EMPTY_SHA256, HEADER, REQUEST_DOMAINS, requestMessage, type SignedFields } from '../src/lib/server/request-auth.js';
import { waitFor } from './util/devnode.js';
import { inProcessServer } from './util/serve.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const newId = () => randomBytes(32).toString('hex');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A server on 127.0.0.1 with one live contract in an in-memory authority; closed and removed on teardown. */
async function setup(t: ExecutionContext, options: Partial<FileServerOptions> = {}) {
  const s = await inProcessServer(t, options);
  const contractId = s.addContract();
  const files = async () => (await readdir(s.dir, { recursive: true })).filter((f) => /[0-9a-f]{2}\/[0-9a-f]{64}$|\.part$/.test(f));
  return { ...s, contractId, client: s.clientFor(contractId), files };
}

/** A signed PUT of `body` that sends only its first `sent` bytes, then holds the connection open. */
function partialPut(url: string, contractId: string, secretKey: Uint8Array, body: Buffer, sent: number): ClientRequest {
  const sectorId = newId();
  const req = request(`${url}/v1/contracts/${contractId}/sectors/${sectorId}`, {
    method: 'PUT',
    headers: { 'content-length': body.length, ...signRequest({ contractId, sectorId, operation: 'PUT', bodySha256: sha(body) }, secretKey) },
  });
  req.on('error', () => undefined);
  req.write(body.subarray(0, sent));
  return req;
}

async function refused(t: ExecutionContext, p: Promise<unknown>, status: number, code: string) {
  const err = await t.throwsAsync(p, { instanceOf: FileServerError });
  t.is(err?.status, status, err?.message);
  t.is(err?.code, code);
}

test('signed round trip: put, get, range, list, proof, delete', async (t) => {
  const { client, contractId, lines, renter } = await setup(t);
  const a = randomBytes(100_000);
  const b = randomBytes(4 * 1024 * 1024);
  const [ida, idb] = [newId(), newId()];
  t.deepEqual(await client.put(ida, a), { sectorId: ida, size: a.length, sha256: sha(a), created: true });
  t.true((await client.put(idb, b)).created);
  t.false((await client.put(ida, a)).created, 'a second put replaces');
  t.true(Buffer.from(await client.get(ida)).equals(a));
  t.is(sha(await client.get(idb)), sha(b), 'compared by hash: a deep compare of 4 MiB takes ava seconds');
  t.true(Buffer.from(await client.get(ida, { offset: 99_990, length: 10 })).equals(a.subarray(99_990)));
  const listing = await client.list();
  t.is(listing.contractId, contractId);
  t.is(listing.usedBytes, a.length + b.length);
  t.deepEqual(listing.sectors, [{ id: ida, size: a.length }, { id: idb, size: b.length }].sort((x, y) => x.id.localeCompare(y.id)));
  const root = merkleRoot(a);
  const proof = await client.proof(ida, 1562);
  t.is(proof.segment.length, 100_000 - 1562 * 64);
  t.true(verifyMerkleProof(root, proof));
  t.true(await client.delete(ida));
  t.false(await client.delete(ida));
  await refused(t, client.get(ida), 404, 'no-such-sector');
  t.is((await client.list()).usedBytes, b.length);
  const logged = lines.map((l) => JSON.parse(l) as { method: string; status: number; key?: string });
  t.is(logged.length, 12, 'one log line per request');
  t.true(logged.every((l) => l.key === hex(renter.publicKey) && l.status < 500));
});


test('GETs at once, more than the recycled read buffers, and after: every answer has its own bytes', async (t) => {
  const { client } = await setup(t);
  const sectors = await Promise.all(
    Array.from({ length: 10 }, async (_, i) => {
      const data = randomBytes(512 * 1024 + i * 1000);
      const id = newId();
      await client.put(id, data);
      return { id, data };
    }),
  );
  // Ten at once: four answered from recycled buffers, the others streamed.
  const first = await Promise.all(sectors.map((s) => client.get(s.id)));
  first.forEach((got, i) => t.is(sha(got), sha(sectors[i].data), `sector ${i}`));
  // The buffers come back and hold other sectors, ranges too.
  for (const s of sectors.slice().reverse()) t.is(sha(await client.get(s.id, { offset: 1000, length: 100_000 })), sha(s.data.subarray(1000, 101_000)));
});

test('a buffer whose answer a slow reader has not taken yet is not lent to the next GETs', async (t) => {
  const { client, server, contractId, renter } = await setup(t);
  const big = { id: newId(), data: randomBytes(4 * 1024 * 1024) };
  await client.put(big.id, big.data);
  // Within the contract's 16 MiB.
  const others = await Promise.all(
    Array.from({ length: 3 }, async () => {
      const s = { id: newId(), data: randomBytes(3 * 1024 * 1024) };
      await client.put(s.id, s.data);
      return s;
    }),
  );
  // Two GETs pipelined on one connection that is not read: the first answer fills the kernel's
  // socket buffers, so the second waits in the server, in the buffer it was read into.
  const { port } = new URL(server.url);
  const slow = connect(Number(port), '127.0.0.1');
  await once(slow, 'connect');
  slow.pause();
  for (let i = 0; i < 2; i++) {
    const h = signRequest({ contractId, sectorId: big.id, operation: 'GET', bodySha256: EMPTY_SHA256 }, renter.secretKey);
    slow.write(`GET /v1/contracts/${contractId}/sectors/${big.id} HTTP/1.1\r\nHost: x\r\n${Object.entries(h).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
  }
  await new Promise((r) => setTimeout(r, 300));
  for (const s of others) t.is(sha(await client.get(s.id)), sha(s.data));
  // The two answers, once both have arrived whole: status lines and bodies.
  const answers = (all: Buffer): { status: string; body: Buffer }[] | null => {
    const out = [];
    for (let at = 0; out.length < 2; ) {
      const end = all.indexOf('\r\n\r\n', at);
      if (end < 0 || all.length < end + 4 + big.data.length) return null;
      out.push({ status: all.subarray(at, all.indexOf('\r\n', at)).toString('latin1'), body: all.subarray(end + 4, end + 4 + big.data.length) });
      at = end + 4 + big.data.length;
    }
    return out;
  };
  const parts: Buffer[] = [];
  let bytes = 0;
  let got: { status: string; body: Buffer }[] | null = null;
  for await (const part of slow) {
    parts.push(part as Buffer);
    bytes += (part as Buffer).length;
    if (bytes >= 2 * big.data.length && (got = answers(Buffer.concat(parts)))) break;
  }
  slow.destroy();
  t.deepEqual(got?.map((a) => a.status), ['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK']);
  t.deepEqual(got?.map((a) => sha(a.body)), [sha(big.data), sha(big.data)], 'both slow answers kept their own bytes');
});

for (const [mode, directWrites] of [
  ['around the page cache where the file system allows it', undefined],
  ['through the page cache', false],
] as const) {
  test(`uploads written ${mode}: every size stored whole, more at once than staging buffers, a bad body leaves nothing`, async (t) => {
    const { client, files } = await setup(t, { directWrites });
    // Sizes around the 4096-byte blocks of a direct write, and 8 at once: 4 are staged, the rest streamed.
    const sizes = [1, 4095, 4096, 4097, 65_539, 2 * 1024 * 1024 + 1, 4 * 1024 * 1024, 777];
    const sectors = sizes.map((n) => ({ id: newId(), data: randomBytes(n) }));
    await Promise.all(sectors.map((s) => client.put(s.id, s.data)));
    for (const s of sectors) t.is(sha(await client.get(s.id)), sha(s.data), `${s.data.length} bytes`);
    t.deepEqual((await client.list()).sectors.map((s) => s.size).sort((a, b) => a - b), [...sizes].sort((a, b) => a - b));
    const liar = randomBytes(10_000);
    await refused(t, client.put(newId(), liar, sha(randomBytes(10_000))), 400, 'bad-body');
    t.is((await files()).length, sizes.length, 'no sector and no temp file from the bad body');
  });

  test(`uploads written ${mode}: a client that vanishes mid-body leaves no reservation, no file, and a server that answers`, async (t) => {
    const { server, client, contractId, renter, files } = await setup(t, { directWrites });
    for (const sent of [1024, 1 << 20]) {
      const body = randomBytes(2 << 20);
      const cut = partialPut(server.url, contractId, renter.secretKey, body, sent);
      await waitFor(() => server.status().reservedBytes > 0, 5000, 'the upload to start');
      t.is(server.status().reservedBytes, body.length, 'the upload was under way');
      cut.destroy();
      await waitFor(() => server.status().reservedBytes === 0, 5000, 'the reservation back');
      t.is(server.status().reservedBytes, 0, `cut after ${sent} bytes: reservation given back`);
    }
    t.is((await files()).length, 0, 'no sector and no temp file');
    const after = randomBytes(300_000);
    const id = newId();
    await client.put(id, after);
    t.is(sha(await client.get(id)), sha(after));
  });
}

test('wrong key, expired, replayed and unknown contracts are refused and nothing is written', async (t) => {
  const { client, clientFor, addContract, server, contractId, renter, files } = await setup(t);
  const data = randomBytes(1000);
  const sid = newId();
  await refused(t, clientFor(contractId, generateKeyPair().secretKey).put(sid, data), 403, 'wrong-key');
  await refused(t, clientFor(addContract({ state: 'expired' })).put(sid, data), 403, 'contract-ended');
  await refused(t, clientFor(addContract({ expiresAtTime: Math.floor(Date.now() / 1000) - 1 })).put(sid, data), 403, 'contract-not-live');
  await refused(t, clientFor(newId()).put(sid, data), 403, 'unknown-contract');

  const url = `${server.url}/v1/contracts/${contractId}/sectors/${sid}`;
  const headers = signRequest({ contractId, sectorId: sid, operation: 'PUT', bodySha256: sha(data) }, renter.secretKey);
  t.is((await fetch(url, { method: 'PUT', body: data })).status, 401, 'unsigned');
  t.is((await fetch(url, { method: 'PUT', body: randomBytes(1000), headers })).status, 400, 'body differs from its signed hash');
  t.is((await fetch(url, { method: 'PUT', body: data, headers })).status, 401, 'replay of a request whose nonce was used');
  const other = signRequest({ contractId, sectorId: newId(), operation: 'PUT', bodySha256: sha(data) }, renter.secretKey);
  t.is((await fetch(url, { method: 'PUT', body: data, headers: other })).status, 401, 'signature for another sector');
  const old = signRequest({ contractId, sectorId: sid, operation: 'PUT', bodySha256: sha(data), timestamp: Date.now() - 3_600_000 }, renter.secretKey);
  t.is((await fetch(url, { method: 'PUT', body: data, headers: old })).status, 401, 'clock skew');
  const asGet = signRequest({ contractId, sectorId: sid, operation: 'GET', bodySha256: sha(data) }, renter.secretKey);
  t.is((await fetch(url, { method: 'PUT', body: data, headers: asGet })).status, 401, 'a GET signature does not authorize a PUT');
  t.deepEqual(await files(), []);

  await client.put(sid, data);
  const replayed = signRequest({ contractId, sectorId: sid, operation: 'GET', bodySha256: EMPTY_SHA256 }, renter.secretKey);
  t.is((await fetch(url, { headers: replayed })).status, 200);
  const again = await fetch(url, { headers: replayed });
  t.is(again.status, 401);
  t.is(((await again.json()) as { error: { code: string } }).error.code, 'replay');
});

/** Headers as a client from before version 2 signed them: no version header, the v1 message and domain. */
function signV1(fields: Omit<SignedFields, 'timestamp' | 'nonce'>, secretKey: Uint8Array): Record<string, string> {
  const headers = signRequest(fields, secretKey);
  const full = { ...fields, timestamp: Number(headers[HEADER.timestamp]), nonce: headers[HEADER.nonce] };
  headers[HEADER.signature] = hex(sign(REQUEST_DOMAINS[1], requestMessage(full, 1), secretKey));
  delete headers[HEADER.version];
  return headers;
}

test('a signed GET or proof sent with another Range or segment is refused, before or after the real one is served; version 1 only where it signs everything', async (t) => {
  const { server, client, contractId, renter } = await setup(t);
  const sid = newId();
  const data = randomBytes(10_000);
  await client.put(sid, data);
  const url = `${server.url}/v1/contracts/${contractId}/sectors/${sid}`;
  const code = async (r: Response) => ((await r.json()) as { error: { code: string } }).error.code;
  const get = { ...signRequest({ contractId, sectorId: sid, operation: 'GET', bodySha256: EMPTY_SHA256, range: 'bytes=0-99' }, renter.secretKey), range: 'bytes=0-99' };
  const tampered = async (headers: Record<string, string>) => {
    const r = await fetch(url, { headers });
    t.is(r.status, 401);
    t.is(await code(r), 'bad-signature');
  };
  for (const range of ['bytes=100-199', 'bytes=0-9999', 'bytes=-100']) await tampered({ ...get, range });
  await tampered(Object.fromEntries(Object.entries(get).filter(([name]) => name !== 'range')));
  const served = await fetch(url, { headers: get });
  t.is(served.status, 206);
  t.deepEqual(Buffer.from(await served.arrayBuffer()), data.subarray(0, 100));
  for (const range of ['bytes=100-199', 'bytes=0-']) await tampered({ ...get, range });
  t.is(await code(await fetch(url, { headers: get })), 'replay');

  const proof = signRequest({ contractId, sectorId: sid, operation: 'PROOF', bodySha256: EMPTY_SHA256, segment: 3 }, renter.secretKey);
  const other = await fetch(`${url}/proof?segment=4`, { headers: proof });
  t.is(other.status, 401);
  t.is(await code(other), 'bad-signature');
  const answer = await fetch(`${url}/proof?segment=3`, { headers: proof });
  t.is(answer.status, 200);
  t.is(((await answer.json()) as { segmentIndex: number }).segmentIndex, 3);
  t.true(verifyMerkleProof(merkleRoot(data), await client.proof(sid, 7)), "the client's proofs still verify");

  const v1 = (fields: Omit<SignedFields, 'timestamp' | 'nonce' | 'bodySha256'>) => signV1({ ...fields, bodySha256: EMPTY_SHA256 }, renter.secretKey);
  t.is((await fetch(`${server.url}/v1/contracts/${contractId}/sectors`, { headers: v1({ contractId, sectorId: null, operation: 'LIST' }) })).status, 200, 'version 1 LIST');
  const whole = await fetch(url, { headers: v1({ contractId, sectorId: sid, operation: 'GET' }) });
  t.deepEqual(Buffer.from(await whole.arrayBuffer()), data, 'version 1 GET of a whole sector');
  const v1Ranged = await fetch(url, { headers: { ...v1({ contractId, sectorId: sid, operation: 'GET' }), range: 'bytes=0-99' } });
  t.is(v1Ranged.status, 401);
  t.is(await code(v1Ranged), 'old-signature');
  const v1Proof = await fetch(`${url}/proof?segment=3`, { headers: v1({ contractId, sectorId: sid, operation: 'PROOF' }) });
  t.is(v1Proof.status, 401);
  t.is(await code(v1Proof), 'old-signature');
});

test('uploads beyond the contract size or the server limit are refused', async (t) => {
  const { clientFor, addContract, files } = await setup(t, { maxStorage: 3 * 1024 * 1024 });
  const small = clientFor(addContract({ sizeBytes: 250_000 }));
  await small.put(newId(), randomBytes(100_000));
  await small.put(newId(), randomBytes(100_000));
  await refused(t, small.put(newId(), randomBytes(100_000)), 413, 'over-contract');
  t.is((await small.list()).usedBytes, 200_000);
  // Concurrent uploads reserve their size first, so together they cannot overrun either.
  const racing = clientFor(addContract({ sizeBytes: 500_000 }));
  const results = await Promise.allSettled(Array.from({ length: 10 }, () => racing.put(newId(), randomBytes(100_000))));
  t.is(results.filter((r) => r.status === 'fulfilled').length, 5);
  t.is((await racing.list()).usedBytes, 500_000);
  const big = clientFor(addContract({ sizeBytes: 100 << 20 }));
  await big.put(newId(), randomBytes(2 << 20));
  await refused(t, big.put(newId(), randomBytes(1 << 20)), 507, 'full');
  t.is((await files()).filter((f) => f.endsWith('.part')).length, 0);
});

test('proofs for random challenges verify, and fail after the sector is tampered with on disk', async (t) => {
  // A proof costs 25 rate-limit tokens; this test asks for a dozen at once.
  const { client, dir, contractId } = await setup(t, { rateLimit: { perSecond: 100, burst: 500 } });
  const data = randomBytes(300_000);
  const sid = newId();
  await client.put(sid, data);
  const root = merkleRoot(data);
  for (let n = 0; n < 10; n++) {
    t.true(verifyMerkleProof(root, await client.proof(sid, Math.floor(Math.random() * Math.ceil(data.length / 64)))));
  }
  const tampered = Buffer.from(data);
  tampered[123_456] ^= 1;
  await writeFile(join(dir, 'sectors', contractId, sid.slice(0, 2), sid), tampered);
  t.false(verifyMerkleProof(root, await client.proof(sid, Math.floor(123_456 / 64))), 'the tampered segment');
  t.false(verifyMerkleProof(root, await client.proof(sid, 0)), 'any other segment: the path now carries the changed hash');
  await refused(t, client.proof(sid, 5000), 400, 'bad-segment');
});

test('garbage, bad ids and oversized requests get 4xx and leave the server answering', async (t) => {
  const { server, client, contractId, files } = await setup(t);
  const raw = async (bytes: string) => {
    const { port } = new URL(server.url);
    const s = connect(Number(port), '127.0.0.1');
    s.end(bytes);
    let out = '';
    for await (const chunk of s) out += chunk;
    return out;
  };
  t.regex(await raw('\x00\x01garbage\r\n\r\n'), /^HTTP\/1.1 400/);
  t.regex(await raw('GET /v1/contracts/../../etc/passwd/sectors HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), /^HTTP\/1.1 404/);
  for (const path of [`/v1/contracts/${contractId}/sectors/..%2f..%2fx`, `/v1/contracts/${contractId.toUpperCase()}/sectors`, `/v1/contracts/${contractId}/sectors/abc`]) {
    t.is((await fetch(server.url + path)).status, 400, path);
  }
  t.is((await fetch(`${server.url}/nope`)).status, 404);
  t.is((await fetch(`${server.url}/v1/contracts/${contractId}/sectors`, { method: 'POST' })).status, 405);
  const big = await fetch(`${server.url}/v1/contracts/${contractId}/sectors/${newId()}`, { method: 'PUT', body: new Uint8Array(4 * 1024 * 1024 + 1) });
  t.is(big.status, 413);
  const ranged = newId();
  await client.put(ranged, randomBytes(100));
  const bad = signRequest({ contractId, sectorId: ranged, operation: 'GET', bodySha256: EMPTY_SHA256, range: 'bytes=200-300' }, (client as unknown as { secretKey: Uint8Array }).secretKey);
  const r416 = await fetch(`${server.url}/v1/contracts/${contractId}/sectors/${ranged}`, { headers: { ...bad, range: 'bytes=200-300' } });
  t.is(r416.status, 416);
  t.is(r416.headers.get('content-range'), 'bytes */100');
  t.is((await client.list()).sectors.length, 1);
  t.is((await files()).length, 1);
});

test.serial('hundreds of slow connections and a stalled upload leave the server answering others', async (t) => {
  const { server, client, contractId, renter } = await setup(t, { headersTimeoutMs: 4000, bodyTimeoutMs: 1000 });
  const { port } = new URL(server.url);
  const slow = await Promise.all(
    Array.from({ length: 300 }, async () => {
      const s = connect(Number(port), '127.0.0.1');
      await once(s, 'connect');
      s.write(`GET /status HTTP/1.1\r\nHost: x\r\n`);
      s.on('error', () => undefined).resume();
      return s;
    }),
  );
  const drip = setInterval(() => slow.forEach((s) => s.writable && s.write('X-a: b\r\n')), 200);
  t.teardown(() => {
    clearInterval(drip);
    slow.forEach((s) => s.destroy());
  });

  // A signed upload that sends 1 KiB of its 1 MiB body and stalls.
  const stalled = partialPut(server.url, contractId, renter.secretKey, randomBytes(1 << 20), 1024);
  const stalledClosed = new Promise((r) => stalled.on('close', r));

  // Others are answered while the slow connections are still open (not only once they are cut).
  for (let i = 0; i < 10; i++) await client.put(newId(), randomBytes(10_000));
  t.true(slow.filter((s) => !s.destroyed && !s.readableEnded).length >= 250, 'answered while the slow connections were held');
  await stalledClosed;
  for (let i = 0; i < 50 && server.status().reservedBytes > 0; i++) await new Promise((r) => setTimeout(r, 20));
  t.is(server.status().reservedBytes, 0, 'the stalled upload gave its reservation back');
  for (let i = 0; i < 100 && !slow.every((s) => s.destroyed || s.readableEnded); i++) await new Promise((r) => setTimeout(r, 100));
  t.true(slow.every((s) => s.destroyed || s.readableEnded), 'slow header senders were cut off');
  t.is((await client.list()).sectors.length, 10);
});

test('the client retries 503s with backoff, signing each attempt anew, and types its failures', async (t) => {
  const renter = generateKeyPair();
  const contractId = newId();
  let failuresLeft = 2;
  const authority: ContractAuthority = {
    lookup: async () => {
      if (failuresLeft-- > 0) throw new AuthorityUnavailableError('negotiator restarting');
      return { contractId, renterKey: hex(renter.publicKey), sizeBytes: 1 << 20, state: 'active' };
    },
  };
  const { server, lines } = await setup(t, { authority });
  const client = new FileServerClient({ url: server.url, contractId, secretKey: renter.secretKey, retries: 3, backoffMs: 10 });
  t.true((await client.put(newId(), randomBytes(1000))).created);
  t.deepEqual(lines.map((l) => (JSON.parse(l) as { status: number }).status), [503, 503, 201]);
  const gone = new FileServerClient({ url: 'http://127.0.0.1:1', contractId, secretKey: renter.secretKey, retries: 1, backoffMs: 10 });
  const err = await t.throwsAsync(gone.list(), { instanceOf: FileServerError });
  t.is(err?.code, 'unreachable');
  t.is(err?.status, null);
  t.is(err?.exitCode, ExitCode.failure);
  const stranger = new FileServerClient({ url: server.url, contractId, secretKey: generateKeyPair().secretKey, retries: 3 });
  const denied = await t.throwsAsync(stranger.list(), { instanceOf: FileServerError });
  t.is(denied?.exitCode, ExitCode.auth, '403 is not retried and maps to the auth exit code');
  t.is(lines.length, 4);
});

test('one server per storage directory', async (t) => {
  const { dir, server } = await setup(t);
  const authority: ContractAuthority = { lookup: async () => null };
  await t.throwsAsync(startFileServer({ storageDir: dir, authority, logFormat: 'none' }), { code: 'storage-locked' });
  await server.close();
  const next = await startFileServer({ storageDir: dir, authority, logFormat: 'none' });
  await next.close();
  t.pass('the directory is free again once the first server closed');
});

test('rate limit per key answers 429 with Retry-After', async (t) => {
  const { client } = await setup(t, { rateLimit: { perSecond: 0.05, burst: 3 } });
  for (let i = 0; i < 3; i++) await client.list();
  const err = await t.throwsAsync(client.list(), { instanceOf: FileServerError });
  t.is(err?.status, 429);
  t.true((err?.retryAfterMs ?? 0) >= 1000);
});

test('status page: HTML for a browser, JSON for a machine', async (t) => {
  const { server, client } = await setup(t);
  await client.put(newId(), randomBytes(5000));
  const html = await fetch(server.url, { headers: { accept: 'text/html' } });
  t.regex(html.headers.get('content-type') ?? '', /text\/html/);
  t.regex(await html.text(), /CloudCoin file server[\s\S]*4\.9 KiB/);
  const json = await client.status();
  t.like(json, { software: 'cloudcoin-serve', protocol: 'v1', contracts: 1, usedBytes: 5000, shuttingDown: false });
});

test('a sector being written is busy for others; graceful shutdown finishes the upload and refuses new connections', async (t) => {
  const { server, contractId, renter, client } = await setup(t);
  const sid = newId();
  const body = randomBytes(1 << 20);
  const req = request(`${server.url}/v1/contracts/${contractId}/sectors/${sid}`, {
    method: 'PUT',
    headers: { 'content-length': body.length, ...signRequest({ contractId, sectorId: sid, operation: 'PUT', bodySha256: sha(body) }, renter.secretKey) },
  });
  const answered = once(req, 'response');
  req.write(body.subarray(0, 1000));
  // Close only once the server is inside the upload (it reserved the space).
  for (let i = 0; i < 200 && server.status().reservedBytes === 0; i++) await new Promise((r) => setTimeout(r, 10));
  t.is(server.status().reservedBytes, body.length);
  await refused(t, client.delete(sid), 409, 'busy');
  await refused(t, client.put(sid, randomBytes(10)), 409, 'busy');
  const closed = server.close();
  await new Promise((r) => setTimeout(r, 200));
  t.true(server.status().shuttingDown);
  await t.throwsAsync(client.list(), { instanceOf: FileServerError, message: /unreachable/ });
  req.end(body.subarray(1000));
  const [res] = (await answered) as [import('node:http').IncomingMessage];
  t.is(res.statusCode, 201);
  res.resume();
  await closed;
  t.is(server.status().usedBytes, body.length);
});

/** The part of the Negotiator's ContractInfo the file server reads. */
type Info = Pick<ContractInfo, 'id' | 'state' | 'renterKey' | 'hostKey' | 'size' | 'endHeight'>;

/** A stand-in for the Negotiator's route, serving its ContractInfo JSON behind basic auth. */
async function fakeNegotiator(t: ExecutionContext, records: Map<string, Info>, apiKey: string) {
  const srv = createServer((req, res) => {
    const m = /^\/ext\/negotiator\/contracts\/([0-9a-f]{64})$/.exec(req.url ?? '');
    if (req.headers.authorization !== `Basic ${Buffer.from(`x:${apiKey}`).toString('base64')}`) return void res.writeHead(401).end();
    const rec = m && records.get(m[1]);
    if (!rec) return void res.writeHead(404).end('{"error":"not found"}');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...rec, price: 10, fundingTxid: 'ab'.repeat(32) }));
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  t.teardown(() => void srv.close());
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, stop: () => new Promise((r) => srv.close(r)).then(() => srv.closeAllConnections()) };
}

test('HTTP authority: served from a remote Negotiator; known contracts still served when it stops', async (t) => {
  const renter = generateKeyPair();
  const host = generateKeyPair();
  const known = newId();
  const info: Info = { id: known, state: 'active', renterKey: hex(renter.publicKey), hostKey: hex(host.publicKey), size: 1 << 20, endHeight: 5000 };
  const records = new Map([[known, info]]);
  const neg = await fakeNegotiator(t, records, 'sekrit');
  const authority = new HttpContractAuthority({ url: neg.url, apiKey: 'sekrit', timeoutMs: 1000 });
  t.deepEqual(await authority.lookup(known), { contractId: known, renterKey: info.renterKey, hostKey: info.hostKey, sizeBytes: 1 << 20, state: 'active', expiresAtHeight: 5000 });
  t.is(await authority.lookup(newId()), null);
  await t.throwsAsync(new HttpContractAuthority({ url: neg.url, apiKey: 'wrong' }).lookup(known), { message: /HTTP 401 \(check --api-key\)/ });

  const other = newId();
  records.set(other, { ...info, id: other, hostKey: hex(generateKeyPair().publicKey) });
  const { clientFor, server, lines } = await setup(t, { authority, hostKey: hex(host.publicKey), cache: { ttlMs: 50, negativeTtlMs: 50 } });
  await refused(t, clientFor(other, renter.secretKey).list(), 403, 'not-our-contract');
  const c = clientFor(known, renter.secretKey);
  const sid = newId();
  const data = randomBytes(2000);
  await c.put(sid, data);
  await neg.stop();
  await new Promise((r) => setTimeout(r, 100));
  t.true(Buffer.from(await c.get(sid)).equals(data), 'stale-if-error: the known contract is still served');
  await c.put(newId(), data);
  const stranger = newId();
  records.set(stranger, { ...info, id: stranger });
  await refused(t, clientFor(stranger, renter.secretKey).list(), 503, 'authority-unavailable');
  const status = await (await fetch(`${server.url}/status`, { headers: { accept: 'application/json' } })).text();
  t.regex(status, /"unreachableSince":"20/);
  t.false(status.includes(new URL(neg.url).port), 'the public status page does not name the Negotiator');
  t.true(lines.some((l) => /"error":"authority-unavailable: negotiator at http:\/\/127\.0\.0\.1/.test(l)), 'the log does');
});

test('an address that keeps failing signatures is turned away before its signatures are checked', async (t) => {
  const { client, server, contractId } = await setup(t, { failureLimit: { perSecond: 0.05, burst: 3 } });
  const url = `${server.url}/v1/contracts/${contractId}/sectors`;
  const forged = signRequest({ contractId, sectorId: null, operation: 'LIST', bodySha256: EMPTY_SHA256 }, generateKeyPair().secretKey);
  forged['x-cloudcoin-signature'] = forged['x-cloudcoin-signature'].replace(/^./, (c) => (c === '0' ? '1' : '0'));
  for (let i = 0; i < 3; i++) t.is((await fetch(url, { headers: forged })).status, 401);
  const turned = await fetch(url, { headers: forged });
  t.is(turned.status, 429);
  t.truthy(turned.headers.get('retry-after'));
  await refused(t, client.list(), 429, 'too-many-failures');
});

test("requests for no contract or another's count against the address, and fresh keys leave no nonce or rate-limit bucket", async (t) => {
  const { client, server, contractId } = await setup(t, { failureLimit: { perSecond: 0.05, burst: 4 } });
  await client.list();
  const before = server.status().memory;
  const stranger = generateKeyPair();
  const theirs = new FileServerClient({ url: server.url, contractId, secretKey: stranger.secretKey, retries: 0 });
  const nobodys = new FileServerClient({ url: server.url, contractId: newId(), secretKey: stranger.secretKey, retries: 0 });
  await refused(t, theirs.list(), 403, 'wrong-key');
  await refused(t, theirs.get(newId(), { offset: 0, length: 10 }), 403, 'wrong-key');
  await refused(t, nobodys.list(), 403, 'unknown-contract');
  await refused(t, nobodys.proof(newId(), 1), 403, 'unknown-contract');
  await refused(t, nobodys.list(), 429, 'too-many-failures');
  const after = server.status().memory;
  t.is(after.nonces.size, before.nonces.size, 'no nonce remembered for a stranger');
  t.is(after.renterKeys.size, before.renterKeys.size, 'no rate-limit bucket for a stranger');
  t.is(after.unknownContracts.size, 1);
  t.is(after.refusedAddresses.size, 1);
});
