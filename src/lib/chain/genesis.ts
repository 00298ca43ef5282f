/**
 * Genesis blocks of CloudCoin's networks, built the way bcoin's own
 * scripts/gen.js builds Bitcoin's: one coinbase whose input carries a
 * headline and whose output nobody can spend.
 */
import { bcoin } from './bcoin.js';

export interface GenesisSpec {
  /** Headline in the coinbase input, ASCII. */
  headline: string;
  time: number;
  bits: number;
  nonce: number;
}

const REWARD = 50 * 1e8;

export function createGenesisBlock(spec: GenesisSpec): any {
  const { TX, Block, Script, consensus } = bcoin;
  const tx = new TX({
    version: 1,
    inputs: [{
      prevout: { hash: consensus.NULL_HASH, index: 0xffffffff },
      script: new Script()
        .pushInt(spec.bits)
        .pushPush(Buffer.from([4]))
        .pushData(Buffer.from(spec.headline, 'ascii'))
        .compile(),
      sequence: 0xffffffff,
    }],
    // An OP_RETURN output: the genesis reward is provably unspendable.
    outputs: [{ value: REWARD, script: Script.fromNulldata(Buffer.from('cloudcoin', 'ascii')) }],
    locktime: 0,
  });
  const block = new Block({
    version: 1,
    prevBlock: consensus.NULL_HASH,
    merkleRoot: tx.hash('hex'),
    time: spec.time,
    bits: spec.bits,
    nonce: spec.nonce,
    height: 0,
  });
  block.txs.push(tx);
  return block;
}

/** Searches nonces from 0 until the header meets its own target. Only scripts/genesis.ts calls this. */
export function mineGenesis(spec: Omit<GenesisSpec, 'nonce'>): GenesisSpec {
  const block = createGenesisBlock({ ...spec, nonce: 0 });
  for (let nonce = 0; nonce <= 0xffffffff; nonce++) {
    block.nonce = nonce;
    block.refresh();
    if (block.verifyPOW()) return { ...spec, nonce };
  }
  throw new Error('no nonce satisfies the target; change the time');
}
