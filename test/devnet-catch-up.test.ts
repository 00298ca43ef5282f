import test from 'ava';
import { catchUp } from '../src/lib/devnet/catch-up.js';
import { ephemeralLow, freePorts } from '../src/lib/devnet/ports.js';
import { portInUseError, saysPortInUse } from '../src/lib/errors.js';
import { NodeClient } from '../src/lib/node/node-client.js';
import { nobodysAddress } from './util/devnet.js';
import { devNode } from './util/devnode.js';

test('free ports are distinct and below the ephemeral range outgoing connections take theirs from', async (t) => {
  const ports = await freePorts(40);
  t.is(new Set(ports).size, 40);
  for (const p of ports) t.true(p >= 10_000 && p < ephemeralLow(), `port ${p}`);
  // What the devnet retries on fresh ports, told from a child's one-line error.
  t.true(saysPortInUse(portInUseError('HTTP', ports[0]).message));
  t.false(saysPortInUse('a node is already running on /tmp/x (pid 1)'));
});

test('a node that did not follow the tip is handed the blocks it lacks over RPC, and then holds the same tip', async (t) => {
  t.timeout(120_000);
  const [a, b] = await Promise.all([devNode(t), devNode(t)]);
  const [from, to] = [NodeClient.connect(a.datadir), NodeClient.connect(b.datadir)];
  await from.rpc('generatetoaddress', [7, nobodysAddress()]);
  t.is(await catchUp(from, to), 7);
  const [tipA, tipB] = await Promise.all([from.node('GET', '/'), to.node('GET', '/')]);
  t.is(tipB.chain.height, 7);
  t.is(tipB.chain.tip, tipA.chain.tip);
  t.is(await catchUp(from, to), 0, 'nothing is lacking once caught up');
});
