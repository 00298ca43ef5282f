import test from 'ava';
import { randomBytes } from 'node:crypto';
import { argon2idAsync } from '@noble/hashes/argon2.js';
import { type Argon2Backend, argon2id, nativeArgon2, portableArgon2 } from '../src/lib/crypto/argon2.js';

const backends: Argon2Backend[] = [portableArgon2, ...(nativeArgon2 ? [nativeArgon2] : [])];
const text = (s: string) => Buffer.from(s, 'utf8');

// phc-winner-argon2's src/test.c, Argon2id version 0x13: password "password", salt "somesalt", 32 bytes.
const REFERENCE = [
  { t: 2, m: 2 ** 16, p: 1, tag: '09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7' },
  { t: 2, m: 2 ** 8, p: 1, tag: '9dfeb910e80bad0311fee20f9c0e2b12c17987b4cac90c2ef54d5b3021c68bfe' },
  { t: 2, m: 2 ** 8, p: 2, tag: '6d093c501fd5999645e0ea3bf620d7b8be7fd2db59c20d9fff9539da2bf57037' },
];

for (const backend of backends) {
  for (const v of REFERENCE) {
    test(`${backend.name}: the reference implementation's vector t=${v.t} m=${v.m} p=${v.p}`, async (t) => {
      const tag = await argon2id(text('password'), text('somesalt'), v, 32, backend);
      t.is(tag.toString('hex'), v.tag);
    });
  }
}

test('@noble/hashes, the portable backend, gives RFC 9106 section 5.3 (4 lanes, secret, associated data)', async (t) => {
  const tag = await argon2idAsync(Buffer.alloc(32, 1), Buffer.alloc(16, 2), { t: 3, m: 32, p: 4, dkLen: 32, key: Buffer.alloc(8, 3), personalization: Buffer.alloc(12, 4) });
  t.is(Buffer.from(tag).toString('hex'), '0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659');
});

test('the native backend loads from its prebuilt binding on linux-x64', (t) => {
  if (process.platform !== 'linux' || process.arch !== 'x64') return t.pass('no prebuilt binding expected');
  t.not(nativeArgon2, null);
});

test('both backends agree on random inputs, with several lanes and the default cost', async (t) => {
  if (!nativeArgon2) return t.pass('only the portable backend here');
  for (const params of [{ m: 64, t: 1, p: 4 }, { m: 1000, t: 2, p: 3 }, { m: 2 ** 16, t: 3, p: 4 }]) {
    const password = randomBytes(1 + (randomBytes(1)[0] % 64));
    const salt = randomBytes(32);
    const [a, b] = await Promise.all([argon2id(password, salt, params, 48, nativeArgon2), argon2id(password, salt, params, 48, portableArgon2)]);
    t.is(a.toString('hex'), b.toString('hex'), JSON.stringify(params));
  }
});

test('arguments out of bounds are refused before any work', async (t) => {
  const pw = text('pw');
  const salt = Buffer.alloc(16);
  t.throws(() => argon2id(pw, Buffer.alloc(7), { m: 64, t: 1, p: 1 }), { instanceOf: RangeError, message: /salt/ });
  t.throws(() => argon2id('pw' as unknown as Uint8Array, salt, { m: 64, t: 1, p: 1 }), { instanceOf: TypeError });
  t.throws(() => argon2id(pw, salt, { m: 2 ** 21, t: 1, p: 1 }), { instanceOf: RangeError, message: /argon2 m/ });
  t.throws(() => argon2id(pw, salt, { m: 16, t: 1, p: 4 }), { instanceOf: RangeError, message: /argon2 m/ });
  t.throws(() => argon2id(pw, salt, { m: 64, t: 0, p: 1 }), { instanceOf: RangeError, message: /argon2 t/ });
  t.throws(() => argon2id(pw, salt, { m: 64, t: 1.5, p: 1 }), { instanceOf: RangeError, message: /argon2 t/ });
  t.throws(() => argon2id(pw, salt, { m: 1024, t: 1, p: 17 }), { instanceOf: RangeError, message: /argon2 p/ });
  t.throws(() => argon2id(pw, salt, { m: 64, t: 1, p: 1 }, 3), { instanceOf: RangeError, message: /dkLen/ });
});
