import test from 'ava';
import { join } from 'node:path';
import { ROOT } from './util/cli.js';
import { devNode, waitFor } from './util/devnode.js';

const EXAMPLE = join(ROOT, 'dist', 'test', 'fixtures', 'example-extension.js');

test.serial("the example extension's message travels between nodes and its routes answer behind the API key", async (t) => {
  const a = await devNode(t, { extra: ['--ext', EXAMPLE] });
  const b = await devNode(t, { peers: [a], extra: ['--ext', EXAMPLE] });
  await waitFor(async () => (await b.run(['node', 'peers'])).json?.peers?.length > 0, 20_000, 'peers');

  const status = (await a.run(['node', 'status'])).json;
  t.deepEqual(status.extensions, ['negotiator', 'example'], 'the Negotiator is loaded by default');

  const sent = await a.http('POST', '/ext/example/ping', { text: 'hello from a' });
  t.is(sent.status, 200);
  t.is(sent.body.sent, 1);

  const atB = await waitFor(async () => {
    const r = await b.http('GET', '/ext/example/received');
    return r.body.received?.length ? r.body : null;
  }, 10_000, 'ccping at b');
  t.is(atB.received[0].cmd, 'ccping');
  t.is(atB.received[0].text, 'hello from a');
  t.is(atB.count, 1);

  const atA = await waitFor(async () => {
    const r = await a.http('GET', '/ext/example/received');
    return r.body.received?.length ? r.body : null;
  }, 10_000, 'ccpong at a');
  t.is(atA.received[0].cmd, 'ccpong');

  const anonymous = await a.http('GET', '/ext/example/received', undefined, false);
  t.is(anonymous.status, 401);
  const wrongKey = await fetch(`http://127.0.0.1:${a.httpPort}/ext/example/received`, {
    headers: { authorization: 'Basic ' + Buffer.from('x:not-the-key').toString('base64') },
  });
  t.is(wrongKey.status, 401);
});
