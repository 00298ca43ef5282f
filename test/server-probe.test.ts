import test from 'ava';
import { request } from 'node:http';
import { probeHost } from '../src/lib/renter/host-choice.js';
import { PROBE_DEFAULT_BYTES, PROBE_MAX_BYTES } from '../src/lib/server/probe-route.js';
import { inProcessServer } from './util/serve.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One GET with no signature headers, from `localAddress` (Linux routes all of 127/8 to loopback). */
function get(url: string, localAddress = '127.0.0.1', method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const errorCode = (a: Answer) => (JSON.parse(a.body.toString('utf8')) as { error: { code: string } }).error.code;

test('the probe answers N bytes with no signature, the default without bytes=, the same bytes every time', async (t) => {
  const { server, lines } = await inProcessServer(t);
  const some = await get(`${server.url}/v1/probe?bytes=1000`);
  t.is(some.status, 200);
  t.is(some.headers['content-type'], 'application/octet-stream');
  t.is(some.headers['content-length'], '1000');
  t.is(some.body.length, 1000);
  const all = await get(`${server.url}/v1/probe?bytes=${PROBE_MAX_BYTES}`, '127.0.0.2');
  t.is(all.body.length, PROBE_MAX_BYTES);
  t.deepEqual(all.body.subarray(0, 1000), some.body, 'one buffer, sliced');
  const plain = await get(`${server.url}/v1/probe`, '127.0.0.3');
  t.is(plain.body.length, PROBE_DEFAULT_BYTES);
  t.true(lines.filter((l) => l.includes('/v1/probe')).every((l) => !('key' in JSON.parse(l))), 'no renter key took part');
});

test('a bad size or method is refused without a byte of probe, and costs no probe', async (t) => {
  const { server } = await inProcessServer(t);
  for (const bad of ['0', String(PROBE_MAX_BYTES + 1), '-1', '1.5', '1e3', '01', 'abc', '', '99999999']) {
    const a = await get(`${server.url}/v1/probe?bytes=${encodeURIComponent(bad)}`);
    t.is(a.status, 400, `bytes=${bad}`);
    t.is(errorCode(a), 'bad-bytes');
  }
  const post = await get(`${server.url}/v1/probe`, '127.0.0.1', 'POST');
  t.is(post.status, 405);
  t.is(post.headers.allow, 'GET');
  t.is((await get(`${server.url}/v1/probe?bytes=10`)).status, 200, 'the refusals took none of the address\'s probes');
});

test('an address gets 4 probes at once, then 429 with Retry-After; another address is not held back by it', async (t) => {
  const { server } = await inProcessServer(t);
  for (let i = 0; i < 4; i++) t.is((await get(`${server.url}/v1/probe?bytes=10`)).status, 200);
  const refused = await get(`${server.url}/v1/probe?bytes=10`);
  t.is(refused.status, 429);
  t.is(errorCode(refused), 'rate-limited');
  t.true(Number(refused.headers['retry-after']) >= 1);
  t.is((await get(`${server.url}/v1/probe?bytes=10`, '127.0.0.2')).status, 200);
  const status = JSON.parse((await fetch(`${server.url}/status`, { headers: { accept: 'application/json' } }).then((r) => r.text())));
  t.deepEqual(status.memory.probeAddresses, { size: 2, max: 10_000 }, 'the status page shows the addresses counted against their cap');
});

test('all addresses together are held to the server-wide limit, and an address over its own takes nothing from it', async (t) => {
  const { server } = await inProcessServer(t, { probeLimit: { burst: 1, perSecond: 0.001 }, probeTotalLimit: { burst: 2, perSecond: 0.001 } });
  t.is((await get(`${server.url}/v1/probe?bytes=10`, '127.0.0.1')).status, 200);
  t.is(errorCode(await get(`${server.url}/v1/probe?bytes=10`, '127.0.0.1')), 'rate-limited');
  t.is((await get(`${server.url}/v1/probe?bytes=10`, '127.0.0.2')).status, 200);
  const busy = await get(`${server.url}/v1/probe?bytes=10`, '127.0.0.3');
  t.is(busy.status, 429);
  t.is(errorCode(busy), 'probe-busy');
  t.true(Number(busy.headers['retry-after']) >= 1);
});

test('probeHost measures latency and throughput of a real server; one that refuses the probe keeps its latency, throughput null', async (t) => {
  const { server } = await inProcessServer(t, { probeLimit: { burst: 1, perSecond: 0.001 } });
  const first = await probeHost(server.url);
  t.truthy(first);
  t.true(first!.latencyMs > 0);
  t.true(first!.bytesPerSecond !== null && first!.bytesPerSecond > 0, 'a MiB came back and was timed');
  t.is(first!.outcome, 'measured');
  const second = await probeHost(server.url);
  t.true(second !== null && second.latencyMs > 0, 'latency is still measured');
  t.is(second!.bytesPerSecond, null, 'the refused probe (429), as an older server\'s 404, gives no figure');
  t.is(second!.outcome, 'refused', 'a refusal for now, which choosing does not count against the host (renter-host-choice.test.ts)');
  const other = await inProcessServer(t);
  await other.server.close();
  t.is(await probeHost(other.server.url), null, 'a server that does not answer /status is not probed further');
});
