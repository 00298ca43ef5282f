import test from 'ava';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { Agent, request } from 'node:http';
import { EMPTY_SHA256, HEADER, signRequest, type Operation } from '../src/lib/server/request-auth.js';
import { inProcessServer } from './util/serve.js';

const REQUESTS = 10_000;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const newId = () => randomBytes(32).toString('hex');

interface Fuzzed {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** A signed request with one signed part changed: it must never succeed. */
  tampered: boolean;
}

/** Printable ASCII only: node:http refuses other header bytes before sending. */
function junk(max: number): string {
  return Array.from({ length: randomInt(0, max + 1) }, () => String.fromCharCode(randomInt(0x21, 0x7f))).join('');
}

function flipChar(s: string): string {
  if (s.length === 0) return 'x';
  const i = randomInt(s.length);
  const c = s[i];
  const other = '0123456789abcdefABCDEF=-,x'.replace(c, '');
  return s.slice(0, i) + other[randomInt(other.length)] + s.slice(i + 1);
}

/** A valid request of the renter's, then one signed part changed: a header, an id in the path, the Range, the segment or the body. */
function tampered(contractId: string, sectorIds: string[], secretKey: Uint8Array): Fuzzed {
  const sectorId = sectorIds[randomInt(sectorIds.length)];
  const ops: Operation[] = ['GET', 'PROOF', 'LIST', 'PUT', 'DELETE'];
  const operation = ops[randomInt(ops.length)];
  const body = operation === 'PUT' ? randomBytes(randomInt(1, 200)) : undefined;
  const range = operation === 'GET' && randomInt(2) ? `bytes=${randomInt(100)}-${100 + randomInt(100)}` : undefined;
  const segment = operation === 'PROOF' ? randomInt(3) : undefined;
  const sid = operation === 'LIST' ? null : sectorId;
  const headers = signRequest({ contractId, sectorId: sid, operation, bodySha256: body ? sha(body) : EMPTY_SHA256, range, segment }, secretKey);
  if (range !== undefined) headers.range = range;
  let path = `/v1/contracts/${contractId}/sectors${sid === null ? '' : `/${sid}`}${operation === 'PROOF' ? '/proof' : ''}`;
  const method = operation === 'PROOF' || operation === 'LIST' ? 'GET' : operation;
  const parts = ['header', 'path', ...(range !== undefined ? ['range'] : []), ...(segment !== undefined ? ['segment'] : []), ...(body ? ['body'] : [])];
  switch (parts[randomInt(parts.length)]) {
    case 'header': {
      const names = [HEADER.key, HEADER.timestamp, HEADER.nonce, HEADER.signature, HEADER.version, ...(body ? [HEADER.bodySha256] : [])];
      const name = names[randomInt(names.length)];
      if (randomInt(5) === 0) delete headers[name];
      else headers[name] = flipChar(headers[name]);
      break;
    }
    case 'path': {
      const other = newId();
      path = path.replace(randomInt(2) || sid === null ? contractId : sid, other);
      break;
    }
    case 'range':
      headers.range = flipChar(headers.range);
      break;
    case 'segment':
      path += `?segment=${(segment as number) + 1 + randomInt(5)}`;
      return { method, path, headers, tampered: true };
    case 'body':
      body![randomInt(body!.length)] ^= 1 << randomInt(8);
      break;
  }
  if (segment !== undefined) path += `?segment=${segment}`;
  return { method, path, headers, body, tampered: true };
}

/** Anything: a method, a path that may or may not look like an endpoint, and auth headers with random values. */
function random(contractId: string): Fuzzed {
  const methods = ['GET', 'PUT', 'DELETE', 'POST', 'HEAD', 'OPTIONS', 'PATCH'];
  const paths = [
    `/v1/contracts/${contractId}/sectors/${newId()}`,
    `/v1/contracts/${contractId}/sectors/${newId()}/proof?segment=${junk(8)}`,
    `/v1/contracts/${contractId}/sectors`,
    `/v1/contracts/${contractId}/roots`,
    `/v1/contracts/${contractId}/revision`,
    `/v1/contracts/${junk(70)}/sectors`,
    `/${encodeURIComponent(junk(40))}`,
    '/status',
  ];
  const headers: Record<string, string> = {};
  for (const name of [...Object.values(HEADER), 'range', 'content-length']) if (randomInt(2)) headers[name] = junk(140);
  if (headers['content-length'] !== undefined) delete headers['content-length'];
  const method = methods[randomInt(methods.length)];
  const body = method === 'PUT' || method === 'POST' ? randomBytes(randomInt(0, 300)) : undefined;
  return { method, path: paths[randomInt(paths.length)], headers, body, tampered: false };
}

function send(base: string, f: Fuzzed, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers = f.body ? { ...f.headers, 'content-length': String(f.body.length) } : f.headers;
    const req = request(base + f.path, { method: f.method, headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(f.body);
  });
}

test(`${REQUESTS} random and tampered requests: no 5xx, no tampered request served, the renter's sectors untouched`, async (t) => {
  t.timeout(10 * 60_000);
  // No refusal limit per address or key: every request is checked all the way, none turned away early.
  const s = await inProcessServer(t, { logFormat: 'none', failureLimit: { perSecond: 1e6, burst: 1_000_000 }, rateLimit: { perSecond: 1e6, burst: 1_000_000 } });
  const contractId = s.addContract();
  const client = s.clientFor(contractId);
  const sectors = await Promise.all([1000, 5000, 64].map(async (n) => ({ id: newId(), data: randomBytes(n) })));
  for (const x of sectors) await client.put(x.id, x.data);
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  t.teardown(() => agent.destroy());

  const counts = new Map<number, number>();
  const served: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < REQUESTS) {
      const i = next++;
      const f = i % 2 ? tampered(contractId, sectors.map((x) => x.id), s.renter.secretKey) : random(contractId);
      const status = await send(s.server.url, f, agent);
      counts.set(status, (counts.get(status) ?? 0) + 1);
      if (f.tampered && status < 300) served.push(`${f.method} ${f.path} ${JSON.stringify(f.headers)} -> ${status}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  t.log(`${REQUESTS} fuzzed requests (${REQUESTS / 2} tampered, ${REQUESTS / 2} random), answers by status: ${JSON.stringify(Object.fromEntries([...counts].sort()))}`);

  t.deepEqual(served, [], 'no tampered request was served');
  t.deepEqual([...counts.keys()].filter((c) => c >= 500), [], 'no server error');
  const listing = await client.list();
  t.deepEqual(listing.sectors.map((x) => x.id).sort(), sectors.map((x) => x.id).sort(), 'nothing added or deleted');
  for (const x of sectors) t.is(sha(await client.get(x.id)), sha(x.data));
  t.is((await client.get(sectors[0].id, { offset: 10, length: 20 })).length, 20, 'ranged reads still work');
});
