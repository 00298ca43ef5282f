/**
 * Typed handles on the few parts of bcoin 1.0.2 (CommonJS, untyped) that the
 * negotiator uses: scripts, transactions, coins and blocks. Only the members
 * we call are declared; bcoin's own documentation describes them.
 */
import { createRequire } from 'node:module';
import './native-ecdsa.js';
import './policy.js';

const require = createRequire(import.meta.url);

export interface BScript {
  raw: Buffer;
  toRaw(): Buffer;
  pushOp(op: number): BScript;
  pushData(data: Uint8Array): BScript;
  pushInt(n: number): BScript;
  compile(): BScript;
  equals(other: BScript): boolean;
  isNulldata(minimal?: boolean): boolean;
  getNulldata(minimal?: boolean): Buffer | null;
}

export interface BOutput {
  value: number;
  script: BScript;
}

/** bcoin 1.0.2 keeps outpoint and coin hashes as hex strings, internal byte order. */
export interface BOutpoint {
  hash: string;
  index: number;
}

export interface BWitness {
  fromItems(items: Uint8Array[]): BWitness;
  toItems(): Buffer[];
}

export interface BInput {
  prevout: BOutpoint;
  witness: BWitness;
  sequence: number;
}

export interface BCoin {
  hash: string;
  index: number;
  value: number;
  script: BScript;
  /** The address its script pays (a bcoin Address), null for a non-standard script. */
  getAddress(): unknown;
}

export interface BCoinView {
  addCoin(coin: BCoin): unknown;
  getOutput(prevout: BOutpoint): BOutput | null;
  getCoinFor(input: BInput): BCoin | null;
}

export interface BTX {
  version: number;
  locktime: number;
  inputs: BInput[];
  outputs: BOutput[];
  /** Transaction hash, internal byte order (the outpoint hash of its outputs). */
  hash(): Buffer;
  hash(enc: 'hex'): string;
  txid(): string;
  toRaw(): Buffer;
  isCoinbase(): boolean;
  isFinal(height: number, time: number): boolean;
  /** True if `sig` (DER + sighash byte) by `key` signs input `index` spending `prev` worth `value` (segwit: version 1). */
  checksig(index: number, prev: BScript, value: number, sig: Buffer, key: Buffer, version: number): boolean;
  /** Script verification of every input against `view`; false on a script error. */
  verify(view: BCoinView, flags?: number): boolean;
}

export interface BMTX extends Omit<BTX, 'verify'> {
  view: BCoinView;
  addCoin(coin: BCoin): BInput;
  addInput(options: { prevout: BOutpoint; script?: BScript; sequence?: number }): BInput;
  addOutput(script: BScript, value: number): BOutput;
  /** A DER signature plus sighash byte for input `index` against script `prev` (segwit: version 1). */
  signature(index: number, prev: BScript, value: number, key: Buffer, type: number, version: number): Buffer;
  /** Signs every input whose coin `ring` can spend; returns how many. */
  sign(ring: unknown): number;
  /** Builds the input script/witness template of input `index` for `ring`; false if it cannot. */
  scriptInput(index: number, coin: BOutput, ring: unknown): boolean;
  /** Signs input `index` (after scriptInput); false if `ring` cannot. */
  signInput(index: number, coin: BOutput, ring: unknown, type?: number): boolean;
  verify(flags?: number): boolean;
  /** Script verification of one input against the coin it spends. */
  verifyInput(index: number, coin: BCoin, flags?: number): boolean;
  toTX(): BTX;
}

export interface BBlock {
  /** Hex, internal byte order. */
  prevBlock: string;
  txs: BTX[];
  hash(): Buffer;
  hash(enc: 'hex'): string;
}

interface ScriptClass {
  new (): BScript;
  fromRaw(raw: Uint8Array): BScript;
  fromNulldata(data: Buffer): BScript;
  fromProgram(version: number, data: Buffer): BScript;
  fromPubkeyhash(hash: Buffer): BScript;
  /** The output script paying `address` (a bcoin Address). */
  fromAddress(address: unknown): BScript;
}

export const Script: ScriptClass = require('bcoin/lib/script/script.js');
export const opcodes: Record<string, number> = require('bcoin/lib/script/common.js').opcodes;
export const hashType: { ALL: number } = require('bcoin/lib/script/common.js').hashType;
export const MTX: { new (): BMTX } = require('bcoin/lib/primitives/mtx.js');
export const Coin: {
  fromOptions(o: { version?: number; height?: number; value: number; script: BScript; hash: string; index: number }): BCoin;
} = require('bcoin/lib/primitives/coin.js');
