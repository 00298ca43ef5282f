import test from 'ava';
import { devNode, waitFor, height } from './util/devnode.js';

test.serial('two dev nodes connect, mined blocks reach the peer, a send confirms in the other wallet', async (t) => {
  const a = await devNode(t);
  const b = await devNode(t, { peers: [a] });
  await waitFor(async () => (await b.run(['node', 'peers'])).json?.peers?.length > 0, 20_000, 'peers');

  const mined = await a.run(['node', 'mine', '10']);
  t.is(mined.code, 0, mined.stderr);
  t.is(mined.json.blocks.length, 10);
  await waitFor(async () => (await height(b)) === 10, 20_000, 'block relay');

  await a.run(['node', 'mine', '100']);
  const to = (await b.run(['wallet', 'address'])).json.address;
  t.regex(to, /^dcc1/);
  const sent = await a.run(['wallet', 'send', to, '12.5']);
  t.is(sent.code, 0, sent.stderr);
  t.is(sent.json.amount, 1_250_000_000);
  await a.run(['node', 'mine', '1']);
  const balance = await waitFor(async () => {
    const r = await b.run(['wallet', 'balance']);
    return r.json?.confirmed === 1_250_000_000 ? r.json : null;
  }, 20_000, 'balance');
  t.is(balance.confirmed, 1_250_000_000);
  const history = (await b.run(['wallet', 'history'])).json.transactions;
  t.is(history[0].txid, sent.json.txid);
  t.is(history[0].amount, 1_250_000_000);
});

test.serial('node stop and start keep height and balance; after kill -9 the chain is intact', async (t) => {
  const a = await devNode(t);
  await a.run(['node', 'mine', '105']);
  const before = (await a.run(['wallet', 'balance'])).json;
  t.true(before.confirmed > 0);

  const stopped = await a.run(['node', 'stop']);
  t.is(stopped.code, 0, stopped.stderr);
  t.is(a.pid(), null);
  await a.start();
  t.is(await height(a), 105);
  t.deepEqual((await a.run(['wallet', 'balance'])).json, before);

  await a.run(['node', 'mine', '3']);
  await a.kill9();
  const notRunning = await a.run(['node', 'status']);
  t.is(notRunning.code, 3);
  await a.start();
  t.is(await height(a), 108);
  const status = (await a.run(['node', 'status'])).json;
  t.is(status.network, 'dev');
  const mined = await a.run(['node', 'mine', '1']);
  t.is(mined.code, 0, mined.stderr);
  t.is(await height(a), 109);
});
