import test from 'ava';
import { randomBytes, randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { devNode, waitFor, height } from './util/devnode.js';
import { frame, rawPeer, versionPayload } from './util/p2p.js';

const FRAMES = 10_000;
const COMMANDS = ['version', 'verack', 'ping', 'pong', 'addr', 'inv', 'getdata', 'getblocks', 'getheaders',
  'headers', 'block', 'tx', 'notfound', 'reject', 'sendcmpct', 'cmpctblock', 'feefilter', 'filterload',
  'ccoffer', 'ccinv', 'ccpropose', 'ccpay', 'ccpayack', 'ccping', 'xyz'];

/** One fuzz frame: random bytes, a well-framed random payload, or a mutated valid version message. */
function fuzzFrame(i: number): Buffer {
  switch (i % 4) {
    case 0:
      return randomBytes(randomInt(1, 300));
    case 1:
      return frame('dev', COMMANDS[randomInt(COMMANDS.length)], randomBytes(randomInt(0, 600)));
    case 2: {
      const f = frame('dev', 'version', versionPayload());
      for (let k = 0; k < 1 + randomInt(4); k++) f[randomInt(f.length)] ^= 1 << randomInt(8);
      return f;
    }
    default: {
      // A frame that lies about its length or checksum.
      const payload = randomBytes(randomInt(0, 100));
      const f = frame('dev', COMMANDS[randomInt(COMMANDS.length)], payload, { checksum: randomBytes(4) });
      if (randomInt(2)) f.writeUInt32LE(randomInt(0, 0xffffffff), 16);
      return f;
    }
  }
}

test.serial('10,000 random and mutated frames: the node keeps running and serving, senders are disconnected', async (t) => {
  const node = await devNode(t);
  const honest = await devNode(t, { peers: [node] });
  await node.run(['node', 'mine', '2']);
  await waitFor(async () => (await height(honest)) === 2, 20_000, 'honest peer sync');

  let sent = 0;
  let disconnected = 0;
  let connections = 0;
  while (sent < FRAMES) {
    const peer = await rawPeer(node.port);
    connections++;
    peer.write(frame('dev', 'version', versionPayload()));
    peer.write(frame('dev', 'verack', Buffer.alloc(0)));
    // Up to 50 frames a connection: enough to reach the ban threshold by parse errors alone.
    for (let k = 0; k < 50 && sent < FRAMES && !peer.isClosed(); k++) {
      peer.write(fuzzFrame(sent));
      sent++;
    }
    await Promise.race([peer.closed, sleep(150)]);
    if (peer.isClosed()) disconnected++;
    peer.close();
  }
  t.is(sent, FRAMES);
  t.log(`P2P fuzz: ${sent} frames sent on ${connections} connections; ${disconnected} of them ended by the node`);
  t.true(disconnected > 0, 'the node disconnects peers that send garbage');

  const status = await node.run(['node', 'status']);
  t.is(status.code, 0, status.stderr);
  t.is(status.json.height, 2);
  await node.run(['node', 'mine', '1']);
  await waitFor(async () => (await height(honest)) === 3, 20_000, 'honest peer still served');
  t.pass();
});
