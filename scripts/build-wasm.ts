/**
 * `npm run build:wasm`: compiles src/lib/store/gf256.wat with wabt (the
 * WebAssembly Binary Toolkit built to JavaScript, so no native toolchain is
 * needed) and writes the binary, base64, into src/lib/store/gf256-wasm.ts.
 * The binary is committed so that neither `npm run build` nor an install needs
 * wabt; test/store-gf256.test.ts checks that it matches the .wat. Run with tsx
 * from scripts/ (the paths are relative to the source tree, not dist/).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import wabt from 'wabt';

export const WAT_PATH = fileURLToPath(new URL('../src/lib/store/gf256.wat', import.meta.url));
export const MODULE_PATH = fileURLToPath(new URL('../src/lib/store/gf256-wasm.ts', import.meta.url));

/** The text of gf256-wasm.ts for the current gf256.wat. */
export async function gf256WasmModule(): Promise<string> {
  const parsed = (await wabt()).parseWat('gf256.wat', readFileSync(WAT_PATH, 'utf8'), { simd: true });
  try {
    parsed.validate();
    const { buffer } = parsed.toBinary({});
    return [
      '// Generated from gf256.wat by `npm run build:wasm` (scripts/build-wasm.ts); do not edit.',
      `export const GF256_WASM = '${Buffer.from(buffer).toString('base64')}';`,
      '',
    ].join('\n');
  } finally {
    parsed.destroy();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const text = await gf256WasmModule();
  writeFileSync(MODULE_PATH, text);
  console.log(`wrote ${MODULE_PATH} (${text.length} bytes)`);
}
