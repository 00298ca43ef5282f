/**
 * Mines the genesis nonce of each CloudCoin network and prints the values to
 * paste into src/lib/chain/networks.ts. Run once when a genesis spec changes:
 *   npx tsx scripts/genesis.ts
 */
import { mineGenesis, createGenesisBlock } from '../src/lib/chain/genesis.js';
import { NETWORK_NAMES, networkSpec } from '../src/lib/chain/networks.js';

for (const name of NETWORK_NAMES) {
  const { headline, time, bits } = networkSpec(name).genesis;
  const spec = mineGenesis({ headline, time, bits });
  const block = createGenesisBlock(spec);
  console.log(`${name}: nonce ${spec.nonce}, hash ${block.hash('hex')}`);
}
