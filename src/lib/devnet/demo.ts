/**
 * The README's first command: a dev network on this machine, shown working.
 * It starts (or resumes) the devnet with the renter contracting every host,
 * pays a host from the renter's wallet, mines the payment into a block and
 * shows it arrive on the host's node, then pushes a directory to the hosts
 * with the store and pulls it back identical. The devnet keeps running
 * afterwards for the user to explore.
 */
import { NodeClient } from '../node/node-client.js';
import { waitWalletSynced } from '../node/status.js';
import { getBalance, send } from '../wallet/wallet.js';
import { devnetUp, DEVNET_PASSPHRASE, type Devnet } from './devnet.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { CloudCoinError } from '../errors.js';
import { storeDemo, type StoreDemoResult } from './store-demo.js';

export interface DemoResult {
  devnet: Devnet;
  payment: { from: string; to: string; txid: string; amount: number };
  hostBalanceBefore: number;
  hostBalanceAfter: number;
  height: number;
  store: StoreDemoResult;
}

export async function runDemo(opts: { dir?: string; hosts: number; bin: string; say: (line: string) => void }): Promise<DemoResult> {
  opts.say('starting a dev network: one renter and its hosts, each a node process on 127.0.0.1 ...');
  const devnet = await devnetUp({ dir: opts.dir, hosts: Math.max(1, opts.hosts), bin: opts.bin, contracts: true });
  for (const p of devnet.participants) opts.say(`  ${p.name.padEnd(7)} ${p.address}  P2P ${p.port}  data ${p.datadir}${p.serverUrl ? `  files ${p.serverUrl}` : ''}`);
  opts.say(`mined to height ${devnet.height}: every wallet holds coins`);
  for (const c of devnet.contracts ?? []) opts.say(`  contract ${c.contractId.slice(0, 16)}… with ${c.host}: 1 GiB for 30 days, active`);

  const [renter, host] = devnet.participants;
  const renterNode = NodeClient.connect(renter.datadir);
  const hostNode = NodeClient.connect(host.datadir);
  const before = (await getBalance(hostNode)).confirmed;
  const amount = 150_000_000;
  const tx = await send(renterNode, host.address, amount, process.env.CLOUDCOIN_PASSPHRASE ?? DEVNET_PASSPHRASE);
  opts.say(`renter paid ${host.name} 1.5 CC: tx ${tx.txid}`);
  await renterNode.rpc('generatetoaddress', [1, renter.address]);
  const deadline = Date.now() + 30_000;
  let after = before;
  await waitWalletSynced(hostNode);
  while (after !== before + amount) {
    if (Date.now() > deadline) throw new CloudCoinError('EDEMO', `${host.name} did not see the payment within 30 s`);
    await sleep(200);
    after = (await getBalance(hostNode)).confirmed;
  }
  const height = (await hostNode.node('GET', '/')).chain.height;
  opts.say(`block ${height} reached ${host.name}: its balance went from ${before / 1e8} to ${after / 1e8} CC`);
  const passphrase = process.env.CLOUDCOIN_PASSPHRASE ?? DEVNET_PASSPHRASE;
  const store = await storeDemo(devnet.dir, renter.datadir, passphrase);
  opts.say(`store: pushed ${store.source} (${store.files} entries, ${store.bytes} bytes) to ${store.hosts} hosts as snapshot ${store.snapshot.slice(0, 16)}…, ${store.uploaded} bytes uploaded (encrypted, erasure-coded)`);
  opts.say(`store: pulled it back into ${store.restored}: ${store.identical ? 'identical' : 'DIFFERENT'}`);
  if (!store.identical) throw new CloudCoinError('EDEMO', `the restored directory ${store.restored} differs from ${store.source}`);
  opts.say(`try: cloudcoin store snapshots --datadir ${renter.datadir} (passphrase: ${passphrase === DEVNET_PASSPHRASE ? 'devnet' : 'yours'})`);
  opts.say(`the devnet keeps running; try: cloudcoin devnet status --dir ${devnet.dir}`);
  opts.say(`stop it with: cloudcoin devnet down --dir ${devnet.dir}`);
  return { devnet, payment: { from: renter.name, to: host.name, txid: tx.txid, amount }, hostBalanceBefore: before, hostBalanceAfter: after, height, store };
}
