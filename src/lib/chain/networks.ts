/**
 * CloudCoin's networks, registered with bcoin under their own types.
 *
 * Consensus is Bitcoin's; what differs is everything that keeps the networks
 * apart from Bitcoin's and from each other: magic, ports, address and key
 * prefixes, and a genesis block of their own. `main` and `test` retarget like
 * Bitcoin's main and test networks; `dev` is regtest-like (blocks on demand,
 * no retargeting) for tests and the devnet. BIP34, 65 and 66 hold from block
 * 1; csv and segwit activate through BIP9 within the first windows.
 */
import { createRequire } from 'node:module';
import { bcoin, networks, BN } from './bcoin.js';
import { createGenesisBlock, type GenesisSpec } from './genesis.js';
import './policy.js';

const base58: { encode(b: Buffer): string } = createRequire(createRequire(import.meta.url).resolve('bcoin'))('bstring').base58;

import { NETWORK_NAMES, type NetworkName } from './names.js';

export { NETWORK_NAMES, isNetworkName, type NetworkName } from './names.js';
export { proofWindowOf } from './proof-window.js';

interface Spec {
  magic: number;
  port: number;
  httpPort: number;
  walletPort: number;
  bech32: string;
  pubkeyhash: number;
  scripthash: number;
  privkey: number;
  xpubkey: number;
  xprivkey: number;
  coinType: number;
  powLimit: string;
  genesis: GenesisSpec & { hash: string };
  retarget: boolean;
  halvingInterval: number;
}

// Genesis nonces and hashes come from scripts/genesis.ts; test/networks.test.ts checks them.
const SPECS: Record<NetworkName, Spec> = {
  main: {
    magic: 0xd9c3c1cc,
    port: 8433,
    httpPort: 8432,
    walletPort: 8434,
    bech32: 'cc',
    pubkeyhash: 0x1c,
    scripthash: 0x57,
    privkey: 0x9c,
    xpubkey: 0x0cc0b21e,
    xprivkey: 0x0cc0ade4,
    coinType: 0x4343,
    powLimit: '00000fffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    retarget: true,
    halvingInterval: 210000,
    genesis: { headline: 'CloudCoin main 2026-11-24: storage without a landlord', time: 1795507200, bits: 0x1e0fffff, nonce: 1032843, hash: '1f1b14128353b50ba10766fe1ac0cd3f4eeaf2f5f3f38eb30bb2f390fa000000' },
  },
  test: {
    magic: 0xd9c3c1ce,
    port: 18433,
    httpPort: 18432,
    walletPort: 18434,
    bech32: 'tcc',
    pubkeyhash: 0x41,
    scripthash: 0x3a,
    privkey: 0xc1,
    xpubkey: 0x0cc1b21e,
    xprivkey: 0x0cc1ade4,
    coinType: 1,
    powLimit: '0000ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    retarget: true,
    halvingInterval: 210000,
    genesis: { headline: 'CloudCoin test 2026-11-24', time: 1795507200, bits: 0x1f00ffff, nonce: 11527, hash: 'e84407a6bdbf711708bafa5a6d91299e64a9976562267507b6a95a072f5e0000' },
  },
  dev: {
    magic: 0xd9c3c1cd,
    port: 28433,
    httpPort: 28432,
    walletPort: 28434,
    bech32: 'dcc',
    pubkeyhash: 0x1e,
    scripthash: 0x5a,
    privkey: 0x9e,
    xpubkey: 0x0cc2b21e,
    xprivkey: 0x0cc2ade4,
    coinType: 1,
    powLimit: '7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    retarget: false,
    halvingInterval: 150,
    genesis: { headline: 'CloudCoin dev', time: 1795507200, bits: 0x207fffff, nonce: 3, hash: '9834ea54b5d1f319f1cb2f02384c654a318e840104cd22dffde986695001af22' },
  },
};

/** bcoin's registry is global and shared with Bitcoin's networks, so ours carry a prefix there. */
export function bcoinType(name: NetworkName): string {
  return `cc${name}`;
}

export function networkSpec(name: NetworkName): Readonly<Spec> {
  return SPECS[name];
}

/** The four characters an extended key of this version starts with, as bcoin wants them for detection. */
function base58Prefix(version: number): string {
  const payload = Buffer.alloc(78);
  payload.writeUInt32BE(version, 0);
  return base58.encode(payload).slice(0, 4);
}

function params(name: NetworkName): Record<string, unknown> {
  const s = SPECS[name];
  const regtest = networks.regtest;
  const main = networks.main;
  const genesisBlock = createGenesisBlock(s.genesis);
  if (genesisBlock.hash('hex') !== s.genesis.hash) throw new Error(`genesis of ${name} does not match its recorded hash`);
  return {
    type: bcoinType(name),
    seeds: [],
    magic: s.magic,
    port: s.port,
    checkpointMap: {},
    lastCheckpoint: 0,
    halvingInterval: s.halvingInterval,
    genesis: {
      version: 1,
      hash: genesisBlock.hash('hex'),
      prevBlock: '00'.repeat(32),
      merkleRoot: genesisBlock.merkleRoot,
      time: s.genesis.time,
      bits: s.genesis.bits,
      nonce: s.genesis.nonce,
      height: 0,
    },
    genesisBlock: genesisBlock.toRaw().toString('hex'),
    pow: {
      limit: new BN(s.powLimit, 'hex'),
      bits: s.genesis.bits,
      chainwork: new BN(0),
      targetTimespan: 14 * 24 * 60 * 60,
      targetSpacing: 10 * 60,
      retargetInterval: 2016,
      targetReset: name !== 'main',
      noRetargeting: !s.retarget,
    },
    block: {
      ...(s.retarget ? main.block : regtest.block),
      bip34height: 1,
      bip34hash: null,
      bip65height: 1,
      bip65hash: null,
      bip66height: 1,
      bip66hash: null,
    },
    bip30: {},
    // bcoin 1.0.2 cannot make a deployment active at genesis; BIP9 activates
    // one three windows after its start, so short windows make csv and segwit
    // active within the first blocks: height 431 on main and test, 23 on dev.
    activationThreshold: s.retarget ? 108 : 6,
    minerWindow: s.retarget ? 144 : 8,
    deployments: regtest.deployments,
    deploys: regtest.deploys,
    keyPrefix: {
      privkey: s.privkey,
      xpubkey: s.xpubkey,
      xprivkey: s.xprivkey,
      xpubkey58: base58Prefix(s.xpubkey),
      xprivkey58: base58Prefix(s.xprivkey),
      coinType: s.coinType,
    },
    addressPrefix: {
      pubkeyhash: s.pubkeyhash,
      scripthash: s.scripthash,
      witnesspubkeyhash: s.pubkeyhash + 1,
      witnessscripthash: s.scripthash + 1,
      bech32: s.bech32,
    },
    requireStandard: true,
    rpcPort: s.httpPort,
    walletPort: s.walletPort,
    minRelay: 1000,
    feeRate: 20000,
    maxFeeRate: 400000,
    selfConnect: name === 'dev',
    requestMempool: true,
  };
}

for (const name of NETWORK_NAMES) {
  const type = bcoinType(name);
  if (!networks[type]) {
    networks[type] = params(name);
    networks.types.push(type);
  }
}

/** The bcoin Network object of a CloudCoin network. */
export function getNetwork(name: NetworkName) {
  return bcoin.Network.get(bcoinType(name));
}
