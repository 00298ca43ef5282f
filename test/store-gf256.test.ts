import test from 'ava';
import { execFileSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { WASM_MODULES, wasmModuleText } from '../scripts/build-wasm.js';
import { SIMD_MIN_BYTES, mul, mulRowInto, mulRowJs, mulRowSimd, simdAvailable } from '../src/lib/store/gf256.js';

/** A deterministic pseudo-random buffer (so failures reproduce): the ChaCha20 keystream under sha256(seed). */
function data(seed: string, size: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  return createCipheriv('chacha20', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

/** mulRowInto by its definition, a byte and a term at a time. */
function reference(inputs: Uint8Array[], coefs: ArrayLike<number>, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let x = 0; x < length; x++) for (let i = 0; i < inputs.length; i++) out[x] ^= mul(coefs[i], inputs[i][x]);
  return out;
}

/**
 * k inputs of `length` bytes and their coefficients (0 and 1 among them), as
 * views `offset` bytes into their buffers, so both aligned and unaligned.
 */
function row(seed: string, k: number, length: number, offset: number): { inputs: Uint8Array[]; coefs: Uint8Array } {
  const coefs = Uint8Array.from(data(`${seed}/coefs`, k), (c, i) => (i === 0 ? 1 : i === 1 ? 0 : c));
  const inputs = Array.from({ length: k }, (_, i) => data(`${seed}/${i}`, length + offset).subarray(offset));
  return { inputs, coefs };
}

/** An output view `offset` bytes into a buffer whose bytes around it are 0xee, to catch writes outside it. */
function target(length: number, offset: number): { out: Buffer; around: Buffer } {
  const around = Buffer.alloc(length + offset + 40, 0xee);
  return { out: around.subarray(offset, offset + length), around };
}

function untouched(around: Buffer, out: Buffer): boolean {
  const before = around.subarray(0, out.byteOffset - around.byteOffset);
  const after = around.subarray(out.byteOffset - around.byteOffset + out.length);
  return before.every((b) => b === 0xee) && after.every((b) => b === 0xee);
}

test('gf256-wasm.ts is what npm run build:wasm makes of gf256.wat', async (t) => {
  t.is(readFileSync(WASM_MODULES.gf256.module, 'utf8'), await wasmModuleText(WASM_MODULES.gf256));
});

test('WebAssembly SIMD is available on the Node versions we support', (t) => {
  t.true(simdAvailable());
});

const lengths = [0, 1, 15, 16, 17, 31, 32, 33, 100, 511, 512, 4099, 32 * 1024 - 1, 32 * 1024, 32 * 1024 + 17, 100_003];

test('the SIMD and scalar rows agree with the definition, any length, alignment and k', (t) => {
  for (const k of [1, 2, 3, 4, 7, 17]) {
    for (const length of lengths) {
      for (const offset of [0, 1, 4, 13]) {
        const name = `k=${k} length=${length} offset=${offset}`;
        const { inputs, coefs } = row(name, k, length, offset);
        const want = reference(inputs, coefs, length);
        for (const [path, fn] of [
          ['simd', mulRowSimd],
          ['js', mulRowJs],
          ['mulRowInto', mulRowInto],
        ] as const) {
          const { out, around } = target(length, (offset + 3) % 16);
          fn(out, inputs, coefs);
          t.true(out.equals(want), `${path} ${name}`);
          t.true(untouched(around, out), `${path} ${name} wrote outside its output`);
        }
      }
    }
  }
});

test('the SIMD row grows its memory for many inputs, and keeps it right for fewer afterwards', (t) => {
  for (const k of [256, 3]) {
    const { inputs, coefs } = row(`many ${k}`, k, 70_001, 0);
    const out = Buffer.alloc(70_001);
    mulRowSimd(out, inputs, coefs);
    t.true(out.equals(reference(inputs, coefs, 70_001)), `k=${k}`);
  }
});

test('inputs may be longer than the output; shorter ones, or a coefficient count that differs, are refused', (t) => {
  const { inputs, coefs } = row('long', 3, 2000, 0);
  const out = Buffer.alloc(SIMD_MIN_BYTES + 5);
  mulRowInto(out, inputs, coefs);
  t.true(out.equals(reference(inputs, coefs, out.length)));
  t.throws(() => mulRowInto(Buffer.alloc(2001), inputs, coefs), { instanceOf: RangeError, message: /input 0 is 2000 bytes/ });
  t.throws(() => mulRowInto(out, inputs, coefs.subarray(0, 2)), { instanceOf: RangeError, message: /3 inputs for 2 coefficients/ });
});

test('without WebAssembly (node --jitless), mulRowInto falls back to the scalar loop', (t) => {
  const script = `
    import { mulRowInto, simdAvailable } from './src/lib/store/gf256.ts';
    const a = Buffer.alloc(5000, 7), b = Buffer.alloc(5000, 0x80), out = Buffer.alloc(5000);
    mulRowInto(out, [a, b], [3, 2]);
    console.log(JSON.stringify({ simd: simdAvailable(), bytes: [...new Set(out)] }));`;
  const cwd = new URL('..', import.meta.url);
  const got = JSON.parse(execFileSync(process.execPath, ['--jitless', '--import=tsx', '--input-type=module', '-e', script], { cwd, encoding: 'utf8', stdio: 'pipe' }));
  t.deepEqual(got, { simd: false, bytes: [mul(3, 7) ^ mul(2, 0x80)] });
});
