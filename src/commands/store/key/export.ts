import { Flags } from '@oclif/core';
import { writeFile } from 'node:fs/promises';
import { BaseCommand } from '../../../lib/cli/base.js';
import { STORE_EXIT_STATUS, storePassphrase } from '../../../lib/cli/store.js';
import { exportStore } from '../../../lib/renter/index.js';

export default class StoreKeyExport extends BaseCommand {
  static summary = 'Export what a new machine needs to restore: the key, the renter key and the hosts.';
  static description = `The export is JSON: the master key still sealed under the passphrase, the renter key that signs requests to hosts (sealed under the master key), and the file server URLs of the contracted hosts. On a new machine with a node on the network, store key import then store pull restore everything (docs/store.md). --new-passphrase re-seals the export under another passphrase (read from CLOUDCOIN_NEW_PASSPHRASE).

${STORE_EXIT_STATUS}`;
  static examples = ['<%= config.bin %> <%= command.id %> --out cloudcoin-store.json', '<%= config.bin %> <%= command.id %> > key.json'];
  static flags = {
    out: Flags.string({ summary: 'Write the export to this file (mode 0600) instead of stdout.' }),
    'new-passphrase': Flags.boolean({ summary: 'Seal the export under CLOUDCOIN_NEW_PASSPHRASE instead.' }),
  };

  async run(): Promise<{ export?: unknown; out?: string }> {
    const { flags } = await this.parse(StoreKeyExport);
    const next = flags['new-passphrase'] ? process.env.CLOUDCOIN_NEW_PASSPHRASE : undefined;
    if (flags['new-passphrase'] && !next) this.error('set CLOUDCOIN_NEW_PASSPHRASE for --new-passphrase', { exit: 2 });
    const text = await exportStore(this.location(flags).datadir, await storePassphrase(), next);
    if (flags.out) {
      await writeFile(flags.out, text, { mode: 0o600, flag: 'wx' });
      this.say(`exported to ${flags.out}`);
      return { out: flags.out };
    }
    if (!this.jsonEnabled()) process.stdout.write(text);
    return { export: JSON.parse(text) };
  }
}
