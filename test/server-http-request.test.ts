/**
 * sendHttp, the file server client's transport: answers read whole (into the
 * caller's memory when it fits), over-long answers refused, and abortHttpRequests ending a request a silent server
 * would hold open, after which new requests still go out.
 */
import test from 'ava';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { abortHttpRequests, sendHttp } from '../src/lib/server/http-request.js';

async function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<URL> {
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
}

test('an answer is read whole, with its status and headers; a body goes out with its length', async (t) => {
  const server = createServer((req, res) => {
    let n = 0;
    req.on('data', (d: Buffer) => (n += d.length));
    req.on('end', () => res.writeHead(201, { 'x-got': String(n) }).end(Buffer.alloc(300_000, 7)));
  });
  const url = await listen(server);
  try {
    const a = await sendHttp(url, { method: 'PUT', body: Buffer.alloc(1_000_000, 1), timeoutMs: 5000 });
    t.is(a.status, 201);
    t.is(a.headers['x-got'], '1000000');
    t.true(a.body.equals(Buffer.alloc(300_000, 7)));
  } finally {
    server.close();
  }
});

test('an answer is read into the memory handed in when it fits, into new memory when not', async (t) => {
  const server = createServer((req, res) => res.end(Buffer.alloc(req.url === '/big' ? 5000 : 3000, 9)));
  const url = await listen(server);
  try {
    const into = Buffer.alloc(4000);
    const a = await sendHttp(url, { method: 'GET', timeoutMs: 5000, into });
    t.is(a.body.buffer, into.buffer);
    t.is(a.body.byteOffset, into.byteOffset);
    t.true(a.body.equals(Buffer.alloc(3000, 9)));
    const b = await sendHttp(new URL('/big', url), { method: 'GET', timeoutMs: 5000, into });
    t.not(b.body.buffer, into.buffer);
    t.true(b.body.equals(Buffer.alloc(5000, 9)));
  } finally {
    server.close();
  }
});

test('an answer longer than maxBody is refused', async (t) => {
  const server = createServer((_req, res) => res.end(Buffer.alloc(10_000)));
  const url = await listen(server);
  try {
    await t.throwsAsync(sendHttp(url, { method: 'GET', timeoutMs: 5000, maxBody: 1000 }), { message: /longer than 1000 bytes/ });
  } finally {
    server.close();
  }
});

test('abortHttpRequests ends a request a silent server holds; later requests still work', async (t) => {
  const sockets: Socket[] = [];
  const silent = createTcpServer((s) => sockets.push(s));
  const silentUrl = await listen(silent);
  const server = createServer((_req, res) => res.end('ok'));
  const url = await listen(server);
  try {
    const pending = sendHttp(silentUrl, { method: 'GET', timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    abortHttpRequests();
    await t.throwsAsync(pending);
    t.true(Date.now() - started < 5000, 'ended at once, not at the 60 s time-out');
    const a = await sendHttp(url, { method: 'GET', timeoutMs: 5000 });
    t.is(a.body.toString(), 'ok');
  } finally {
    for (const s of sockets) s.destroy();
    silent.close();
    server.close();
  }
});
