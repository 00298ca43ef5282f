import test from 'ava';
import { createGenesisBlock } from '../src/lib/chain/genesis.js';
import { getNetwork, networkSpec, NETWORK_NAMES, type NetworkName } from '../src/lib/chain/networks.js';
import { bcoin } from '../src/lib/chain/bcoin.js';
import { devNode, waitFor, waitForLog } from './util/devnode.js';
import { rawPeer, versionPayload } from './util/p2p.js';
import { createHash } from 'node:crypto';

// Golden vectors: a change to any network's genesis must be deliberate.
const GENESIS = {
  main: '1f1b14128353b50ba10766fe1ac0cd3f4eeaf2f5f3f38eb30bb2f390fa000000',
  test: 'e84407a6bdbf711708bafa5a6d91299e64a9976562267507b6a95a072f5e0000',
  dev: '9834ea54b5d1f319f1cb2f02384c654a318e840104cd22dffde986695001af22',
};

test('each network has its own genesis block, which meets its own proof of work', (t) => {
  for (const name of NETWORK_NAMES) {
    const block = createGenesisBlock(networkSpec(name).genesis);
    t.is(block.hash('hex'), GENESIS[name], name);
    t.true(block.verifyPOW(), name);
    t.is(getNetwork(name).genesisBlock, block.toRaw().toString('hex'));
  }
});

test('networks differ in magic, ports and address prefixes, from each other and from Bitcoin', (t) => {
  const all = [...NETWORK_NAMES.map((n) => getNetwork(n)), ...['main', 'testnet', 'regtest'].map((n) => bcoin.Network.get(n))];
  t.is(new Set(all.map((n) => n.magic)).size, all.length);
  t.is(new Set(all.map((n) => n.port)).size, all.length);
  t.is(new Set(all.map((n) => n.addressPrefix.bech32)).size, all.length);
  t.is(new Set(all.map((n) => n.addressPrefix.pubkeyhash)).size, all.length);
  const key = bcoin.KeyRing.generate();
  const devAddr = key.getAddress('string', getNetwork('dev'));
  t.throws(() => bcoin.Address.fromString(devAddr, getNetwork('main')));
});

test.serial('a dev node and a test node refuse each other; a Bitcoin peer is dropped', async (t) => {
  const debug = ['--log-level', 'debug'];
  const dev = await devNode(t, { extra: debug });
  const other = await devNode(t, { network: 'test', peers: [dev], extra: debug });
  // The test node connects and says hello in its own magic; the dev node answers in its own; each drops the other's frames.
  const magic = (name: NetworkName) => `Invalid magic value: ${getNetwork(name).magic.toString(16)}`;
  await waitForLog(dev, magic('test'));
  await waitForLog(other, magic('dev'));
  const peers = async (n: typeof dev) => (await n.run(['node', 'peers'])).json.peers;
  await waitFor(async () => (await peers(dev)).length === 0 && (await peers(other)).length === 0, 30_000, 'the connection gone');
  t.deepEqual(await peers(dev), []);
  t.deepEqual(await peers(other), []);

  const bitcoin = await rawPeer(dev.port);
  const payload = versionPayload();
  const header = Buffer.alloc(24);
  header.writeUInt32LE(bcoin.Network.get('main').magic, 0);
  header.write('version', 4, 12, 'ascii');
  header.writeUInt32LE(payload.length, 16);
  createHash('sha256').update(createHash('sha256').update(payload).digest()).digest().copy(header, 20, 0, 4);
  const bitcoinVersion = Buffer.concat([header, payload]);
  bitcoin.write(bitcoinVersion);
  await waitForLog(dev, `Invalid magic value: ${bcoin.Network.get('main').magic.toString(16)}`);
  t.false(bitcoin.received().includes(Buffer.from('verack')), 'no handshake with a Bitcoin peer');
  // Every frame with a foreign magic costs 10 ban points: one that keeps talking is dropped.
  for (let i = 0; i < 10; i++) bitcoin.write(bitcoinVersion);
  t.true(await bitcoin.closedWithin(20_000), 'a peer speaking Bitcoin main magic is disconnected');
});
