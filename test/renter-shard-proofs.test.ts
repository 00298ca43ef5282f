/**
 * `store check`'s proof sampling against a host that dies during the check:
 * the host's first failed proof, after its retries, marks it unavailable, and
 * its other shards are reported so at once instead of each waiting out the
 * same retries. A front before a real file server plays the host's machine:
 * it passes requests on while "alive" and answers 503 once "dead", counting
 * what reaches it then.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HostShardVerifier } from '../src/lib/renter/shard-proofs.js';
import { FileServerClient, FileServerError } from '../src/lib/server/index.js';
import { BackendError } from '../src/lib/store/backend.js';
import { inProcessServer } from './util/serve.js';

const newId = () => randomBytes(32).toString('hex');

async function front(t: Parameters<typeof inProcessServer>[0], target: string) {
  const state = { dead: false, requestsWhileDead: 0 };
  const srv = createServer((req, res) => {
    if (state.dead) {
      state.requestsWhileDead++;
      const body = '{"error":{"code":"down","message":"down"}}';
      // Framed as the file server frames its answers: an unframed GET answer is asked again through node:http (server/http-request.ts).
      return void res.writeHead(503, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
    }
    const out = request(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  t.teardown(() => void srv.close());
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, state };
}

test('a host that dies during a check: one proof waits out its retries, the other shards are unavailable at once', async (t) => {
  const s = await inProcessServer(t);
  const contractId = s.addContract();
  const owner = s.clientFor(contractId);
  const shards = [newId(), newId(), newId()];
  for (const id of shards) await owner.put(id, randomBytes(10_000));
  const host = await front(t, s.server.url);
  const client = new FileServerClient({ url: host.url, contractId, secretKey: s.renter.secretKey, retries: 3, backoffMs: 1 });
  const verifier = new HostShardVerifier('host-a', client, async () => new Map());

  t.is((await verifier.sample(shards[0], 2)).state, 'ok', 'proven while the host is up');
  host.state.dead = true;
  const first = await t.throwsAsync(verifier.sample(shards[1], 2), { instanceOf: BackendError });
  t.is(first?.kind, 'unavailable');
  t.is(host.state.requestsWhileDead, 4, 'the first failing proof was tried once and retried three times');
  for (const id of [shards[2], shards[0]]) {
    const later = await t.throwsAsync(verifier.sample(id, 2), { instanceOf: BackendError });
    t.is(later?.kind, 'unavailable');
    t.regex(later!.message, /^host-a: /);
  }
  t.is(host.state.requestsWhileDead, 4, 'no request for the shards after the host was found gone');
});

test('a client with many retries and a long first backoff waits at most maxBackoffMs between tries', async (t) => {
  const s = await inProcessServer(t);
  const contractId = s.addContract();
  const host = await front(t, s.server.url);
  host.state.dead = true;
  // Uncapped, six retries from a 10 s backoff would wait over ten minutes and outlast the test's time-out.
  const client = new FileServerClient({ url: host.url, contractId, secretKey: s.renter.secretKey, retries: 6, backoffMs: 10_000, maxBackoffMs: 5 });
  const err = await t.throwsAsync(client.list(), { instanceOf: FileServerError });
  t.is(err?.status, 503);
  t.is(host.state.requestsWhileDead, 7);
  t.throws(() => new FileServerClient({ url: host.url, contractId, secretKey: s.renter.secretKey, maxBackoffMs: -1 }), { instanceOf: RangeError });
});
