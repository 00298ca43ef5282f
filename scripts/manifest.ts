/**
 * Writes oclif.manifest.json after each build. Without it oclif imports every
 * command module at every start to learn their flags, and so loads bcoin and
 * secp256k1 even for `--help`; with it a command loads only its own code.
 * Run by `npm run build`; the file is generated, not committed.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Config } from '@oclif/core';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const target = join(root, 'oclif.manifest.json');
// The old manifest goes first: @oclif/core 4 reads the root plugin's manifest back
// whatever the load options say, so new flags would not show in --help.
rmSync(target, { force: true });
const config = await Config.load({ root });
const plugin = config.plugins.get(config.pjson.name) as unknown as { manifest: { commands: Record<string, unknown> } } | undefined;
if (!plugin) throw new Error(`no plugin ${config.pjson.name} at ${root}`);
writeFileSync(target, JSON.stringify({ ...plugin.manifest, version: config.version }, null, 2) + '\n');
console.log(`oclif.manifest.json: ${Object.keys(plugin.manifest.commands).length} commands`);
