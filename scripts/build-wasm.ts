/**
 * `npm run build:wasm`: compiles each WebAssembly text module of the store
 * (gf256.wat, gear.wat in src/lib/store) with wabt (the WebAssembly Binary
 * Toolkit built to JavaScript, so no native toolchain is needed) and writes the
 * binary, base64, into the TypeScript module beside it (gf256-wasm.ts,
 * gear-wasm.ts). The binaries are committed so that neither `npm run build`
 * nor an install needs wabt; the tests check that each matches its .wat. Run
 * with tsx from scripts/ (the paths are relative to the source tree, not dist/).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import wabt from 'wabt';

export interface WasmModule {
  /** The .wat source. */
  wat: string;
  /** The generated .ts module. */
  module: string;
  /** The name of the base64 constant it exports. */
  constant: string;
}

const _store = (name: string) => fileURLToPath(new URL(`../src/lib/store/${name}`, import.meta.url));

export const WASM_MODULES: Record<'gf256' | 'gear', WasmModule> = {
  gf256: { wat: _store('gf256.wat'), module: _store('gf256-wasm.ts'), constant: 'GF256_WASM' },
  gear: { wat: _store('gear.wat'), module: _store('gear-wasm.ts'), constant: 'GEAR_WASM' },
};

/** The text of the generated .ts module for the current .wat. */
export async function wasmModuleText(m: WasmModule): Promise<string> {
  const name = m.wat.split('/').pop()!;
  const parsed = (await wabt()).parseWat(name, readFileSync(m.wat, 'utf8'), { simd: true });
  try {
    parsed.validate();
    const { buffer } = parsed.toBinary({});
    return [
      `// Generated from ${name} by \`npm run build:wasm\` (scripts/build-wasm.ts); do not edit.`,
      `export const ${m.constant} = '${Buffer.from(buffer).toString('base64')}';`,
      '',
    ].join('\n');
  } finally {
    parsed.destroy();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  for (const m of Object.values(WASM_MODULES)) {
    const text = await wasmModuleText(m);
    writeFileSync(m.module, text);
    console.log(`wrote ${m.module} (${text.length} bytes)`);
  }
}
