/**
 * bcoin's signature checks on libsecp256k1 (src/lib/chain/native-secp.ts) and
 * the signature cache (src/lib/chain/sigcache.ts): the native path answers as
 * the pure-JS one did on edge vectors, is the one in use, and a block whose
 * signature is bad is refused however warm the cache is. Serial: the path
 * and the counters are the process's, and the node test reads them.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bcoin } from '../src/lib/chain/bcoin.js';
import { bcoinType } from '../src/lib/chain/networks.js';
import { nativeSecpAvailable, secpBackend, secpCounters, useSecpBackend } from '../src/lib/chain/native-secp.js';
import { SignatureCache, signatureCache } from '../src/lib/chain/sigcache.js';

const secp = createRequire(createRequire(import.meta.url).resolve('bcoin'))('bcrypto/lib/secp256k1');

const N = BigInt('0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141');
const hex = (b: Buffer) => b.toString('hex');
const scalar = (n: bigint) => Buffer.from(n.toString(16).padStart(64, '0'), 'hex');
const seed = (s: string) => createHash('sha256').update(s).digest();

/** What a call gives, or the error it throws, as one comparable string. */
function outcome(fn: () => unknown): string {
  try {
    const r = fn();
    if (Buffer.isBuffer(r)) return `buffer ${hex(r)}`;
    if (r && typeof r === 'object') return `object ${JSON.stringify(r, (_k, v) => (v?.type === 'Buffer' ? hex(Buffer.from(v.data)) : v))}`;
    return `value ${String(r)}`;
  } catch (err) {
    return `throws ${(err as Error).message}`;
  }
}

/** The same call on the pure-JS path and on libsecp256k1. */
function onBoth(fn: () => unknown): [string, string] {
  useSecpBackend('js');
  const js = outcome(fn);
  useSecpBackend('libsecp256k1');
  return [js, outcome(fn)];
}

function vectors() {
  const priv = seed('cloudcoin native-secp vector key');
  const other = seed('another key');
  const msg = seed('a sighash');
  const pubC: Buffer = secp.publicKeyCreate(priv, true);
  const pubU: Buffer = secp.publicKeyCreate(priv, false);
  const odd = (pubU[64] & 1) === 1;
  const hybrid = Buffer.concat([Buffer.from([odd ? 0x07 : 0x06]), pubU.subarray(1)]);
  const hybridWrongParity = Buffer.concat([Buffer.from([odd ? 0x06 : 0x07]), pubU.subarray(1)]);
  const offCurve = Buffer.from(pubU);
  offCurve[64] ^= 1;
  const xTooBig = Buffer.concat([Buffer.from([0x02]), Buffer.alloc(32, 0xff)]);
  const keys = {
    compressed: pubC, uncompressed: pubU, hybrid, hybridWrongParity, offCurve, xTooBig,
    wrongKey: secp.publicKeyCreate(other, true) as Buffer,
    prefix04At33: Buffer.concat([Buffer.from([0x04]), pubC.subarray(1)]),
    length34: Buffer.concat([pubC, Buffer.from([0])]),
    empty: Buffer.alloc(0),
  };
  const compact: Buffer = secp.sign(msg, priv);
  const r = compact.subarray(0, 32);
  const s = BigInt(`0x${hex(compact.subarray(32))}`);
  const highS = Buffer.concat([r, scalar(N - s)]);
  const der: Buffer = secp.toDER(compact);
  // Lax DER: an extra zero byte in front of r, which strict DER forbids and old signatures carry.
  const rLen = der[3];
  const lax = Buffer.concat([Buffer.from([0x30, der[1] + 1, 0x02, rLen + 1, 0x00]), der.subarray(4)]);
  const compacts = {
    valid: compact, highS,
    rZero: Buffer.concat([Buffer.alloc(32), compact.subarray(32)]),
    sZero: Buffer.concat([r, Buffer.alloc(32)]),
    sIsN: Buffer.concat([r, scalar(N)]),
    rOverN: Buffer.concat([Buffer.alloc(32, 0xff), compact.subarray(32)]),
  };
  const ders = {
    valid: der, lax, highS: secp.toDER(highS) as Buffer,
    truncated: der.subarray(0, der.length - 3), garbage: Buffer.from('3006020101020102ff', 'hex'),
    flipped: Buffer.concat([der.subarray(0, der.length - 1), Buffer.from([der[der.length - 1] ^ 1])]),
    empty: Buffer.alloc(0),
  };
  return { priv, other, msg, keys, compacts, ders };
}

test.serial('libsecp256k1 is the path in use where its binding loads', (t) => {
  if (process.platform !== 'linux' || process.arch !== 'x64') return t.pass('no prebuilt binding expected');
  t.true(nativeSecpAvailable);
  t.is(secpBackend(), 'libsecp256k1');
  const { priv, msg } = vectors();
  const before = { ...secpCounters };
  t.true(secp.verifyDER(msg, secp.signDER(msg, priv), secp.publicKeyCreate(priv, true)));
  t.is(secpCounters.nativeVerifies, before.nativeVerifies + 1);
  t.is(secpCounters.jsVerifies, before.jsVerifies);
});

test.serial('CLOUDCOIN_SECP=js keeps bcoin on its pure-JS path', (t) => {
  const module = new URL('../src/lib/chain/native-secp.ts', import.meta.url).href;
  const code = `const m = await import(${JSON.stringify(module)}); console.log(m.secpBackend(), m.nativeSecpAvailable);`;
  const run = (env: Record<string, string>) => execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { env: { ...process.env, ...env } }).toString().trim();
  t.is(run({ CLOUDCOIN_SECP: 'js' }), 'js false');
  if (process.platform === 'linux' && process.arch === 'x64') t.is(run({ CLOUDCOIN_SECP: '' }), 'libsecp256k1 true');
});

test.serial('signature checks answer the same on both paths: valid, high-S, lax and bad DER, wrong, hybrid and broken keys', (t) => {
  const { msg, keys, compacts, ders } = vectors();
  let compared = 0;
  for (const [keyName, key] of Object.entries(keys)) {
    for (const [sigName, sig] of Object.entries(ders)) {
      const [js, native] = onBoth(() => secp.verifyDER(msg, sig, key));
      t.is(native, js, `verifyDER, ${sigName} DER, ${keyName} key`);
      compared++;
    }
    for (const [sigName, sig] of Object.entries(compacts)) {
      const [js, native] = onBoth(() => secp.verify(msg, sig, key));
      t.is(native, js, `verify, ${sigName} signature, ${keyName} key`);
      compared++;
    }
    const [js, native] = onBoth(() => secp.verifyDER(seed('another sighash'), ders.valid, key));
    t.is(native, js, `verifyDER, other message, ${keyName} key`);
  }
  t.is(compared, 10 * 13);
  // The cases that must pass, so the comparison is not of two paths that refuse everything.
  for (const key of [keys.compressed, keys.uncompressed, keys.hybrid]) {
    for (const sig of [ders.valid, ders.lax, ders.highS]) t.deepEqual(onBoth(() => secp.verifyDER(msg, sig, key)), ['value true', 'value true']);
  }
  t.deepEqual(onBoth(() => secp.verifyDER(msg, ders.valid, keys.wrongKey)), ['value false', 'value false']);
});

test.serial('keys and signing give the same bytes and the same refusals on both paths', (t) => {
  const { priv, msg, keys } = vectors();
  const privs = { good: priv, zero: Buffer.alloc(32), n: scalar(N), overN: Buffer.alloc(32, 0xff), short: priv.subarray(1) };
  for (const [name, key] of Object.entries(privs)) {
    for (const compressed of [true, false]) {
      const [js, native] = onBoth(() => secp.publicKeyCreate(key, compressed));
      t.is(native, js, `publicKeyCreate, ${name} key, compressed ${compressed}`);
    }
    t.is(...swap(onBoth(() => secp.signDER(msg, key))), `signDER, ${name} key`);
    t.is(...swap(onBoth(() => secp.sign(msg, key))), `sign, ${name} key`);
  }
  for (const [name, key] of Object.entries(keys)) {
    t.is(...swap(onBoth(() => secp.publicKeyVerify(key))), `publicKeyVerify, ${name}`);
    for (const compressed of [true, false]) {
      t.is(...swap(onBoth(() => secp.publicKeyConvert(key, compressed))), `publicKeyConvert, ${name}, compressed ${compressed}`);
      for (const [tweakName, tweak] of Object.entries({ small: scalar(5n), n: scalar(N) })) {
        t.is(...swap(onBoth(() => secp.publicKeyTweakAdd(key, tweak, compressed))), `publicKeyTweakAdd, ${name}, ${tweakName} tweak`);
      }
    }
  }
  const [js] = onBoth(() => secp.signDER(msg, priv));
  t.true(js.startsWith('buffer 30'), 'a DER signature came out');
});

/** [native, js, message] from [js, native]: t.is reads actual first. */
function swap([js, native]: [string, string]): [string, string] {
  return [native, js];
}

test.serial('the signature cache: a passing triple stored while the mempool checks hits later; a block hit takes the entry out', (t) => {
  const cache = new SignatureCache(3);
  let checks = 0;
  const verify = (_m: Buffer, sig: Buffer) => { checks++; return sig[0] === 1; };
  const msg = Buffer.alloc(32, 9);
  const key = Buffer.alloc(33, 2);
  const good = Buffer.from([1, 2, 3]);
  t.true(cache.verify(verify, msg, good, key, true));
  t.is(cache.size, 1);
  t.true(cache.verify(verify, msg, good, key, true), 'a mempool re-check hits and keeps the entry');
  t.is(cache.size, 1);
  t.true(cache.verify(verify, msg, good, key, false));
  t.is(cache.hits, 2);
  t.is(checks, 1);
  t.is(cache.size, 0, 'a block hit removes its entry');
  t.false(cache.verify(verify, msg, Buffer.from([0]), key, true));
  t.is(cache.size, 0, 'a failing check is never stored');
  t.true(cache.verify(verify, msg, good, key, false));
  t.is(cache.size, 0, 'a block check stores nothing');
});

test.serial('the signature cache: a byte moved across the signature/key boundary is another entry; the oldest goes when full', (t) => {
  const msg = Buffer.alloc(32, 1);
  const sig = Buffer.from('3044aa', 'hex');
  const key = Buffer.from('02bb', 'hex');
  t.not(SignatureCache.id(msg, sig, key), SignatureCache.id(msg, sig.subarray(0, 2), Buffer.from('aa02bb', 'hex')));
  const cache = new SignatureCache(2);
  const yes = () => true;
  for (const b of [1, 2, 3]) cache.verify(yes, msg, Buffer.from([b]), key, true);
  t.is(cache.size, 2);
  let checked = false;
  cache.verify(() => { checked = true; return true; }, msg, Buffer.from([1]), key, false);
  t.true(checked, 'the first entry was evicted');
});

function makeNode(dir: string): any {
  mkdirSync(dir, { recursive: true });
  return new bcoin.FullNode({
    network: bcoinType('dev'), prefix: dir, memory: false, workers: false, listen: false,
    httpPort: 0, logLevel: 'none', logConsole: false, logFile: false,
  });
}

/** A block on `builder`'s tip carrying `txs`, mined but not added anywhere. */
async function blockWith(builder: any, address: any, txs: any[]): Promise<any> {
  const job = await builder.miner.createJob(builder.chain.tip, address);
  for (const tx of txs) job.pushTX(tx, await builder.chain.getCoinView(tx));
  job.refresh();
  return job.mineAsync();
}

test.serial('a block whose signature is bad is refused while the cache holds the good transaction; the good one is checked from the cache', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cc-chain-secp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const builder = makeNode(join(dir, 'builder'));
  const validator = makeNode(join(dir, 'validator'));
  t.teardown(async () => {
    await builder.close().catch(() => {});
    await validator.close().catch(() => {});
  });
  await builder.ensure(); await builder.open();
  await validator.ensure(); await validator.open();
  const ring = bcoin.KeyRing.generate();
  ring.witness = true;
  const address = ring.getAddress();
  const funding = [];
  for (let i = 0; i < 101; i++) {
    const block = await builder.miner.mineBlock(builder.chain.tip, address);
    await builder.chain.add(block);
    await validator.chain.add(block);
    funding.push(block);
  }

  const mtx = new bcoin.MTX();
  mtx.addCoin(bcoin.Coin.fromTX(funding[0].txs[0], 0, 1));
  mtx.addOutput(address, funding[0].txs[0].outputs[0].value - 2000);
  mtx.sign(ring);
  const good = mtx.toTX();
  const storesBefore = signatureCache.stores;
  const nativeBefore = secpCounters.nativeVerifies;
  await validator.mempool.addTX(good);
  t.is(signatureCache.stores, storesBefore + 1, 'the mempool stored its one signature');
  t.true(secpCounters.nativeVerifies > nativeBefore, 'checked on libsecp256k1');

  // Same signature, another output value: another sighash, so no entry names it.
  const otherSighash = bcoin.MTX.fromTX(good);
  otherSighash.outputs[0].value -= 1;
  t.deepEqual(otherSighash.inputs[0].witness.items, good.inputs[0].witness.items);
  // Same sighash and key, one byte of s changed (the last byte is the sighash type).
  const flipped = bcoin.MTX.fromTX(good);
  const sig = Buffer.from(flipped.inputs[0].witness.items[0]);
  sig[sig.length - 2] ^= 1;
  flipped.inputs[0].witness.items[0] = sig;
  for (const bad of [otherSighash.toTX(), flipped.toTX()]) {
    const hitsBefore = signatureCache.hits;
    const block = await blockWith(builder, address, [bad]);
    const err = await t.throwsAsync(validator.chain.add(block));
    t.is((err as any).reason, 'mandatory-script-verify-flag-failed');
    t.is(signatureCache.hits, hitsBefore, 'the bad signature missed the cache');
  }

  const hitsBefore = signatureCache.hits;
  const verifiesBefore = secpCounters.nativeVerifies + secpCounters.jsVerifies;
  const sizeBefore = signatureCache.size;
  await validator.chain.add(await blockWith(builder, address, [bcoin.TX.fromRaw(good.toRaw())]));
  t.is(validator.chain.height, 102);
  t.is(signatureCache.hits, hitsBefore + 1);
  t.is(secpCounters.nativeVerifies + secpCounters.jsVerifies, verifiesBefore, 'no curve work for a signature the mempool checked');
  t.is(signatureCache.size, sizeBefore - 1);
});
