import test from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import vectors from './vectors/store-xchacha.json' with { type: 'json' };
import keyFiles from './vectors/store-keyfiles.json' with { type: 'json' };
import { open, seal } from '../src/lib/store/aead.js';
import { StoreKeys, exportKey, importKey, initKey, openKey } from '../src/lib/store/keys.js';
import { CloudCoinError, ExitCode } from '../src/lib/errors.js';

const hex = (s: string) => Buffer.from(s, 'hex');
// The smallest scrypt cost keyfiles accept: these tests check the format, not the cost.
const FAST = { name: 'scrypt', N: 2 ** 10, r: 8, p: 1 } as const;

for (const [i, v] of vectors.vectors.entries()) {
  test(`XChaCha20-Poly1305 vector ${i} (${v.source.slice(0, 40)}…): seal matches and opens`, (t) => {
    const sealed = seal(hex(v.key), hex(v.nonce), hex(v.plaintext), hex(v.aad));
    t.is(sealed.toString('hex'), v.sealed);
    t.is(open(hex(v.key), hex(v.nonce), sealed, hex(v.aad))?.toString('hex'), v.plaintext);
  });
}

test('node:crypto path agrees with @noble/ciphers on random inputs, both directions', (t) => {
  for (let i = 0; i < 50; i++) {
    const key = randomBytes(32);
    const nonce = randomBytes(24);
    const aad = randomBytes(i % 3 === 0 ? 0 : i);
    const pt = randomBytes((i * 997) % 5000);
    const ours = seal(key, nonce, pt, aad);
    const noble = xchacha20poly1305(key, nonce, aad).encrypt(pt);
    t.deepEqual(new Uint8Array(ours), noble);
    t.deepEqual(open(key, nonce, Buffer.from(noble), aad), pt);
  }
});

test('open returns null for a flipped bit, wrong AAD, wrong nonce or short input', (t) => {
  const key = randomBytes(32);
  const nonce = randomBytes(24);
  const sealed = seal(key, nonce, Buffer.from('secret'), Buffer.from('aad'));
  const flipped = Buffer.from(sealed);
  flipped[0] ^= 1;
  t.is(open(key, nonce, flipped, Buffer.from('aad')), null);
  t.is(open(key, nonce, sealed, Buffer.from('aae')), null);
  t.is(open(key, randomBytes(24), sealed, Buffer.from('aad')), null);
  t.is(open(key, nonce, sealed.subarray(0, 10)), null);
  t.throws(() => seal(key.subarray(1), nonce, sealed), { instanceOf: RangeError, message: /key must be 32 bytes/ });
  t.throws(() => seal(key, nonce.subarray(1), sealed), { instanceOf: RangeError, message: /nonce must be 24 bytes/ });
});

test('derived keys differ per purpose and are stable for a master key', (t) => {
  const master = Buffer.alloc(32, 7);
  const a = new StoreKeys(master);
  const b = new StoreKeys(master);
  t.deepEqual(a.data, b.data);
  t.is(a.fingerprint, b.fingerprint);
  const all = [a.data, a.manifest, a.ids, a.gear].map((k) => k.toString('hex'));
  t.is(new Set(all).size, 4);
  t.false(all.includes(master.toString('hex')));
  t.throws(() => new StoreKeys(Buffer.alloc(31)), { instanceOf: RangeError });
});

async function tempDir(t: any): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cc-keys-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('init then open gives the same keys; the key file holds no key material in clear', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'store.key');
  const { fingerprint } = await initKey(file, 'correct horse', FAST);
  const keys = await openKey(file, 'correct horse');
  t.is(keys.fingerprint, fingerprint);
  const text = await readFile(file, 'utf8');
  for (const k of [keys.data, keys.manifest, keys.ids]) {
    t.false(text.includes(k.toString('hex')));
    t.false(text.includes(k.toString('base64')));
  }
  await t.throwsAsync(initKey(file, 'x', FAST), { instanceOf: CloudCoinError, message: /already exists/ });
});

test('a wrong passphrase is a CloudCoinError with the auth exit code and changes nothing', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'store.key');
  await initKey(file, 'right', FAST);
  const before = await readFile(file);
  const err = await t.throwsAsync(openKey(file, 'wrong'), { instanceOf: CloudCoinError });
  t.is(err?.code, 'EPASSPHRASE');
  t.is(err?.exitCode, ExitCode.auth);
  await t.throwsAsync(exportKey(file, 'wrong'), { instanceOf: CloudCoinError, message: /wrong passphrase/ });
  t.deepEqual(await readFile(file), before);
});

test('export then import on a "new machine" opens to the same keys; re-encryption under a new passphrase', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'a.key');
  const { fingerprint } = await initKey(file, 'pw1', FAST);
  const text = await exportKey(file, 'pw1');
  t.is((await importKey(text, join(dir, 'b.key'), 'pw1')).fingerprint, fingerprint);
  t.is((await openKey(join(dir, 'b.key'), 'pw1')).fingerprint, fingerprint);
  const rekeyed = await exportKey(file, 'pw1', 'pw2');
  await t.throwsAsync(importKey(rekeyed, join(dir, 'c.key'), 'pw1'), { message: /wrong passphrase/ });
  t.is((await importKey(rekeyed, join(dir, 'c.key'), 'pw2')).fingerprint, fingerprint);
});

test('malformed key files and hostile KDF parameters are refused before any work', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'k');
  await writeFile(file, 'not json');
  await t.throwsAsync(openKey(file, 'pw'), { instanceOf: CloudCoinError, message: /not a CloudCoin key/ });
  await initKey(join(dir, 'ok'), 'pw', FAST);
  const j = JSON.parse(await readFile(join(dir, 'ok'), 'utf8'));
  j.kdf.N = 2 ** 30;
  await writeFile(file, JSON.stringify(j));
  await t.throwsAsync(openKey(file, 'pw'), { instanceOf: RangeError, message: /scrypt N/ });
  await initKey(join(dir, 'ok2'), 'pw', { name: 'argon2id', m: 64, t: 1, p: 1 });
  const a = JSON.parse(await readFile(join(dir, 'ok2'), 'utf8'));
  for (const [field, value, message] of [['m', 2 ** 30, /argon2 m/], ['t', 1e6, /argon2 t/], ['p', 0, /argon2 p/]] as const) {
    await writeFile(file, JSON.stringify({ ...a, kdf: { ...a.kdf, [field]: value } }));
    await t.throwsAsync(openKey(file, 'pw'), { instanceOf: RangeError, message });
  }
  await writeFile(file, JSON.stringify({ ...a, kdf: { ...a.kdf, name: 'pbkdf2' } }));
  await t.throwsAsync(openKey(file, 'pw'), { instanceOf: CloudCoinError, message: /not a version-1 CloudCoin key/ });
  await t.throwsAsync(openKey(join(dir, 'missing'), 'pw'), { instanceOf: CloudCoinError, message: /no key file/ });
  await t.throwsAsync(initKey(join(dir, 'x'), '', FAST), { instanceOf: TypeError });
});

test('new keys use Argon2id at RFC 9106\'s second recommended cost (64 MiB, t = 3, p = 4)', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'store.key');
  const { fingerprint } = await initKey(file, 'pw');
  const kdf = JSON.parse(await readFile(file, 'utf8')).kdf;
  t.like(kdf, { name: 'argon2id', m: 2 ** 16, t: 3, p: 4 });
  t.is(Buffer.from(kdf.salt, 'base64').length, 32);
  t.is((await openKey(file, 'pw')).fingerprint, fingerprint);
});

for (const kdf of [
  { name: 'scrypt', N: 2 ** 17, r: 8, p: 1 },
  { name: 'scrypt', N: 2 ** 16, r: 8, p: 2 },
] as const) {
  test(`a key file made with an earlier default (scrypt N = 2^${Math.log2(kdf.N)}, p = ${kdf.p}) opens with its own parameters`, async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'store.key');
    const { fingerprint } = await initKey(file, 'pw', kdf);
    t.like(JSON.parse(await readFile(file, 'utf8')).kdf, kdf);
    t.is((await openKey(file, 'pw')).fingerprint, fingerprint);
    await t.throwsAsync(openKey(file, 'wrong'), { instanceOf: CloudCoinError, message: /passphrase/ });
  });
}

test('a key file of each KDF, made once and kept here, opens to the same key: the format is stable', async (t) => {
  const dir = await tempDir(t);
  for (const [name, v] of Object.entries(keyFiles.files)) {
    const file = join(dir, name);
    await writeFile(file, JSON.stringify(v.file));
    t.is((await openKey(file, v.passphrase)).fingerprint, v.fingerprint, name);
    t.is((await openKey(file, v.passphrase.normalize('NFKC'))).fingerprint, v.fingerprint, name);
    await t.throwsAsync(openKey(file, v.passphrase + 'x'), { instanceOf: CloudCoinError, message: /passphrase/ });
  }
});
