/**
 * One party's share of the funding transaction, as carried by ccfund and
 * ccfundsig: the coins it spends (outpoint, value and script, so the other
 * side can rebuild and check the transaction offline) and its change output.
 */
import { malformed } from './errors.js';
import { MAX_MONEY } from './terms.js';
import type { Reader, Writer } from './wire.js';

export const MAX_FUNDING_COINS = 32;
/** Longest output script we accept for a coin or change: P2WSH is 34, P2PKH 25. */
export const MAX_FUNDING_SCRIPT = 64;
export const MAX_WITNESS_ITEMS = 8;
/** Bitcoin's standard limit on one witness stack item. */
export const MAX_WITNESS_ITEM = 520;

export interface FundingCoin {
  /** Previous transaction hash, internal byte order (bcoin's `tx.hash()`). */
  hash: Uint8Array;
  index: number;
  value: number;
  script: Uint8Array;
}

export interface FundingPart {
  coins: FundingCoin[];
  /** Empty for no change. */
  changeScript: Uint8Array;
  changeValue: number;
}

export function fundingPartSize(part: FundingPart): number {
  let size = 1;
  for (const c of part.coins) size += 32 + 4 + 8 + 1 + c.script.length;
  return size + 1 + part.changeScript.length + 8;
}

export function writeFundingPart(w: Writer, part: FundingPart): void {
  w.u8(part.coins.length);
  for (const c of part.coins) w.bytes(c.hash).u32(c.index).u64(c.value).bytes8(c.script);
  w.bytes8(part.changeScript).u64(part.changeValue);
}

/** Stateless sanity of a share: bounded, no coin twice, values within the money supply. */
export function checkFundingPart(part: FundingPart): void {
  if (part.coins.length < 1 || part.coins.length > MAX_FUNDING_COINS)
    throw malformed(`funding: 1..${MAX_FUNDING_COINS} coins, got ${part.coins.length}`);
  const seen = new Set<string>();
  let total = 0;
  for (const c of part.coins) {
    const key = `${Buffer.from(c.hash).toString('hex')}:${c.index}`;
    if (seen.has(key)) throw malformed('funding: a coin is listed twice');
    seen.add(key);
    if (c.script.length === 0) throw malformed('funding: coin without a script');
    total += c.value;
  }
  if (total > MAX_MONEY || part.changeValue > MAX_MONEY) throw malformed('funding: value above the money supply');
  if ((part.changeScript.length === 0) !== (part.changeValue === 0))
    throw malformed('funding: change needs both a script and a value');
}

export function readFundingPart(r: Reader): FundingPart {
  const n = r.u8('coin count');
  if (n > MAX_FUNDING_COINS) throw malformed(`funding: at most ${MAX_FUNDING_COINS} coins, got ${n}`);
  const coins: FundingCoin[] = [];
  for (let i = 0; i < n; i++) {
    coins.push({
      hash: r.bytes(32, 'coin hash'),
      index: r.u32('coin index'),
      value: r.u64('coin value'),
      script: r.bytes8(MAX_FUNDING_SCRIPT, 'coin script'),
    });
  }
  const part: FundingPart = {
    coins,
    changeScript: r.bytes8(MAX_FUNDING_SCRIPT, 'change script'),
    changeValue: r.u64('change value'),
  };
  checkFundingPart(part);
  return part;
}

export function witnessSize(witness: Uint8Array[]): number {
  return 1 + witness.reduce((n, item) => n + 2 + item.length, 0);
}

export function writeWitness(w: Writer, witness: Uint8Array[]): void {
  w.u8(witness.length);
  for (const item of witness) w.bytes16(item);
}

export function readWitness(r: Reader): Buffer[] {
  const n = r.u8('witness items');
  if (n < 1 || n > MAX_WITNESS_ITEMS) throw malformed(`funding: witness must have 1..${MAX_WITNESS_ITEMS} items, got ${n}`);
  const items: Buffer[] = [];
  for (let i = 0; i < n; i++) items.push(r.bytes16(MAX_WITNESS_ITEM, 'witness item'));
  return items;
}
