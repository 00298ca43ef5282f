/**
 * sendHttp, the file server client's transport: answers read whole (into the
 * caller's memory when it fits), over-long answers refused, and abortHttpRequests ending a request a silent server
 * would hold open, after which new requests still go out. GETs over plain HTTP
 * take GetConnection's path: answers it does not frame go through node:http,
 * kept connections are reused and asked again when the server closed them,
 * and answers that break HTTP, stop midway or never come are errors. Serial:
 * abortHttpRequests ends every request of the process.
 */
import test, { type ExecutionContext } from 'ava';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { abortHttpRequests, sendHttp } from '../src/lib/server/http-request.js';
import { silentServer } from './util/silent.js';

async function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<URL> {
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
}

test.serial('an answer is read whole, with its status and headers; a body goes out with its length', async (t) => {
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

test.serial('an answer is read into the memory handed in when it fits, into new memory when not', async (t) => {
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

test.serial('an answer longer than maxBody is refused', async (t) => {
  const server = createServer((_req, res) => res.end(Buffer.alloc(10_000)));
  const url = await listen(server);
  try {
    await t.throwsAsync(sendHttp(url, { method: 'GET', timeoutMs: 5000, maxBody: 1000 }), { message: /longer than 1000 bytes/ });
  } finally {
    server.close();
  }
});

test.serial('abortHttpRequests ends a request a silent server holds; later requests still work', async (t) => {
  const silentUrl = new URL(await silentServer(t));
  const server = createServer((_req, res) => res.end('ok'));
  const url = await listen(server);
  t.teardown(() => server.close());
  const pending = sendHttp(silentUrl, { method: 'GET', timeoutMs: 60_000 });
  await new Promise((r) => setTimeout(r, 200));
  const started = Date.now();
  abortHttpRequests();
  await t.throwsAsync(pending);
  t.true(Date.now() - started < 5000, 'ended at once, not at the 60 s time-out');
  const a = await sendHttp(url, { method: 'GET', timeoutMs: 5000 });
  t.is(a.body.toString(), 'ok');
});

/**
 * A TCP server answering each request (one per chunk of bytes received) with
 * `answer(n)`, n counting requests on that connection. Closed in the test's
 * teardown, with every connection the client kept.
 */
async function rawServer(t: ExecutionContext, answer: (socket: Socket, n: number) => void): Promise<{ url: URL; connections: () => number }> {
  const sockets: Socket[] = [];
  const server = createTcpServer((s) => {
    sockets.push(s);
    let n = 0;
    s.on('data', () => answer(s, n++));
    s.on('error', () => undefined);
  });
  const url = await listen(server);
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
    abortHttpRequests();
  });
  return { url, connections: () => sockets.length };
}

const ok = (body: string, extra = '') => `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n${extra}\r\n${body}`;
const get = async (url: URL, timeoutMs = 5000) => (await sendHttp(url, { method: 'GET', timeoutMs })).body.toString();

test.serial('GETs reuse one kept connection; an answer that asks to close is not reused', async (t) => {
  const raw = await rawServer(t, (s, n) => s.write(ok(`answer ${n}`, n === 2 ? 'connection: close\r\n' : '')));
  for (let i = 0; i < 3; i++) t.is(await get(raw.url), `answer ${i}`);
  t.is(raw.connections(), 1);
  t.is(await get(raw.url), 'answer 0');
  t.is(raw.connections(), 2);
});

test.serial('a kept connection the server closed as the request went out is asked again on a new one', async (t) => {
  // The second request on each connection is met with a close, as a server whose keep-alive time ran out.
  const raw = await rawServer(t, (s, n) => (n === 0 ? s.write(ok('first')) : s.destroy()));
  t.is(await get(raw.url), 'first');
  t.is(await get(raw.url), 'first');
  t.is(raw.connections(), 2);
});

test.serial('a chunked answer and one read to the close are read through node:http; interim answers are skipped', async (t) => {
  const chunked = await rawServer(t, (s) => s.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'));
  const toClose = await rawServer(t, (s) => s.end('HTTP/1.1 200 OK\r\n\r\nuntil the end'));
  const interim = await rawServer(t, (s) => s.write(`HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n${ok('after hints')}`));
  t.is(await get(chunked.url), 'hello');
  t.is(await get(toClose.url), 'until the end');
  const a = await sendHttp(interim.url, { method: 'GET', timeoutMs: 5000 });
  t.is(a.status, 200);
  t.is(a.body.toString(), 'after hints');
});

test.serial('answers that break HTTP, stop midway or never come are errors, and the next request still works', async (t) => {
  const cases: [string, (s: Socket) => void, RegExp][] = [
    ['not HTTP', (s) => s.write('SSH-2.0-OpenSSH\r\n\r\n'), /malformed answer/],
    ['a bad header', (s) => s.write('HTTP/1.1 200 OK\r\nno colon here\r\n\r\n'), /malformed header/],
    ['two lengths', (s) => s.write('HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n'), /conflicting content-length/],
    ['an endless head', (s) => s.write(`HTTP/1.1 200 OK\r\n${'x-pad: y\r\n'.repeat(8000)}`), /head longer than/],
    ['a cut body', (s) => s.end('HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\nshort'), /closed before the answer was complete/],
    ['silence after the head', (s) => s.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n'), /no answer within 300 ms/],
  ];
  for (const [name, answer, error] of cases) {
    const raw = await rawServer(t, answer);
    await t.throwsAsync(sendHttp(raw.url, { method: 'GET', timeoutMs: 300 }), { message: error }, name);
  }
  const fine = await rawServer(t, (s) => s.write(ok('fine')));
  t.is(await get(fine.url), 'fine');
});

test.serial('a header that would split the request is refused before anything is sent', async (t) => {
  const raw = await rawServer(t, (s) => s.write(ok('sent')));
  await t.throwsAsync(sendHttp(raw.url, { method: 'GET', timeoutMs: 5000, headers: { range: 'bytes=0-1\r\nx-evil: 1' } }), { message: /invalid header/ });
  t.is(raw.connections(), 0);
});
