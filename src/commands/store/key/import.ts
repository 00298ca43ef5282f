import { Args } from '@oclif/core';
import { mkdir, readFile } from 'node:fs/promises';
import { BaseCommand } from '../../../lib/cli/base.js';
import { STORE_EXIT_STATUS, storePassphrase } from '../../../lib/cli/store.js';
import { importStore } from '../../../lib/renter/index.js';
import { storePaths } from '../../../lib/store/index.js';

export default class StoreKeyImport extends BaseCommand {
  static summary = 'Install a key exported by store key export (or a bare key file) on this machine.';
  static description = `Checks the passphrase first and writes nothing if it is wrong (exit 4). Then the key goes to <datadir>/store/key, the renter key it carries to <datadir>/store/renter.key and the hosts to <datadir>/store/hosts.json. Refuses to overwrite an existing key (exit 7). Use - to read from stdin.

${STORE_EXIT_STATUS}`;
  static examples = ['<%= config.bin %> <%= command.id %> cloudcoin-store.json', 'cat key.json | <%= config.bin %> <%= command.id %> -'];
  static args = { file: Args.string({ description: 'The exported file, or - for stdin.', required: true }) };

  async run(): Promise<{ fingerprint: string; renterKey: string | null; hosts: number }> {
    const { args, flags } = await this.parse(StoreKeyImport);
    const text = args.file === '-' ? await _stdin() : await readFile(args.file, 'utf8');
    const datadir = this.location(flags).datadir;
    await mkdir(storePaths(datadir).dir, { recursive: true, mode: 0o700 });
    const r = await importStore(text, datadir, await storePassphrase());
    this.say(`store key ${r.fingerprint} imported${r.renterKey ? ` with renter key ${r.renterKey.slice(0, 16)}… and ${r.hosts} hosts` : ''}`);
    return r;
  }
}

async function _stdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of process.stdin) parts.push(c as Buffer);
  return Buffer.concat(parts).toString('utf8');
}
