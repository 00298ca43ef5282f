/**
 * `npm run build:server`: bundles the file server's entry point
 * (src/lib/server/bundle-main.ts) and everything it imports into one ESM file,
 * dist/cloudcoin-serve.mjs, that runs with only Node installed — for web
 * hosts and NAS boxes where the full CLI and its node_modules do not fit —
 * and puts Passenger's startup file, app.cjs, beside it (docs/server.md).
 */
import { build } from 'esbuild';
import { copyFileSync, existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository root: the nearest directory above this file with a package.json (works from scripts/ and dist/scripts/). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root (no package.json above scripts/)');
    dir = up;
  }
  return dir;
}

export async function buildServerBundle(outfile = join(repoRoot(), 'dist', 'cloudcoin-serve.mjs')): Promise<{ outfile: string; bytes: number }> {
  await build({
    entryPoints: [join(repoRoot(), 'src', 'lib', 'server', 'bundle-main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
    legalComments: 'inline',
    logLevel: 'warning',
  });
  copyFileSync(join(repoRoot(), 'deploy', 'passenger', 'app.cjs'), join(dirname(outfile), 'app.cjs'));
  return { outfile, bytes: statSync(outfile).size };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const { outfile, bytes } = await buildServerBundle();
  console.log(`wrote ${outfile} (${(bytes / 1024).toFixed(0)} KiB)`);
}
