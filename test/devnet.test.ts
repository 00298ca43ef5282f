import test from 'ava';
import { join } from 'node:path';
import { cli } from './util/cli.js';
import { tempDir } from './util/devnode.js';
import { isAlive } from '../src/lib/node/datafiles.js';

test.serial('devnet up starts a funded, connected network; status shows it; down stops every process', async (t) => {
  const dir = join(tempDir(t), 'devnet');
  t.teardown(() => cli(['devnet', 'down', '--dir', dir]).then(() => undefined));

  const up = await cli(['devnet', 'up', '--hosts', '2', '--dir', dir, '--json']);
  t.is(up.code, 0, up.stderr);
  const { participants, height } = up.json;
  t.deepEqual(participants.map((p: any) => p.name), ['renter', 'host1', 'host2']);
  t.true(height >= 106);
  t.is(new Set(participants.flatMap((p: any) => [p.port, p.httpPort, p.walletPort, p.serverPort]).filter(Boolean)).size, 11);
  for (const host of participants.slice(1)) {
    const page = await fetch(host.serverUrl, { headers: { accept: 'application/json' } });
    t.is(page.status, 200, `${host.name}'s file server answers`);
  }

  const again = await cli(['devnet', 'up', '--dir', dir]);
  t.is(again.code, 7, 'a running devnet is not started twice');

  const status = await cli(['devnet', 'status', '--dir', dir, '--json']);
  t.is(status.code, 0, status.stderr);
  for (const p of status.json.participants) {
    t.true(p.running, p.name);
    t.is(p.height, height, p.name);
    t.true(p.peers >= 1, p.name);
    t.true(p.balance >= 100 * 1e8, `${p.name} holds coins`);
  }
  // The wallets really spend (under the passphrase the devnet was started with): the first host pays the second.
  const send = await cli(['wallet', 'send', participants[2].address, '1', '--datadir', participants[1].datadir, '--json']);
  t.is(send.code, 0, send.stderr);

  const down = await cli(['devnet', 'down', '--dir', dir, '--json']);
  t.is(down.code, 0, down.stderr);
  t.deepEqual(down.json.stopped.sort(), ['host1', 'host2', 'renter']);
  t.deepEqual(down.json.killed, [], 'every node stopped by itself');
  for (const p of participants) t.false(isAlive(p.pid), `${p.name} stopped`);
  for (const host of participants.slice(1)) {
    await t.throwsAsync(fetch(host.serverUrl), undefined, `${host.name}'s file server stopped`);
  }
});

test.serial('devnet demo (the README main job) pays a host and shows the block arrive', async (t) => {
  const dir = join(tempDir(t), 'devnet');
  t.teardown(() => cli(['devnet', 'down', '--dir', dir]).then(() => undefined));
  const demo = await cli(['devnet', 'demo', '--hosts', '1', '--dir', dir, '--json'], { env: { CLOUDCOIN_PASSPHRASE: undefined } });
  t.is(demo.code, 0, demo.stderr);
  t.is(demo.json.hostBalanceAfter - demo.json.hostBalanceBefore, 150_000_000);
  const human = await cli(['devnet', 'status', '--dir', dir]);
  t.regex(human.stdout, /host1 .* height \d+ +peers 1/);
});

test.serial('devnet up --contracts contracts every host, more than three too', async (t) => {
  const dir = join(tempDir(t), 'devnet');
  t.teardown(() => cli(['devnet', 'down', '--dir', dir]).then(() => undefined));
  const up = await cli(['devnet', 'up', '--hosts', '4', '--contracts', '--dir', dir, '--json']);
  t.is(up.code, 0, up.stderr);
  t.deepEqual(up.json.contracts.map((c: any) => c.host).sort(), ['host1', 'host2', 'host3', 'host4']);
  t.is(new Set(up.json.contracts.map((c: any) => c.contractId)).size, 4);
});
