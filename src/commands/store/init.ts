import { mkdir } from 'node:fs/promises';
import { BaseCommand } from '../../lib/cli/base.js';
import { STORE_EXIT_STATUS, storePassphrase } from '../../lib/cli/store.js';
import { initKey, storePaths } from '../../lib/store/index.js';

export default class StoreInit extends BaseCommand {
  static summary = 'Create the store\'s master key, encrypted under a passphrase.';
  static description = `The key is 32 random bytes saved in <datadir>/store/key, sealed under the passphrase (Argon2id, then XChaCha20-Poly1305). Every sector and manifest is encrypted under keys derived from it. The passphrase comes from CLOUDCOIN_PASSPHRASE or a prompt. Keep a copy off this machine: cloudcoin store key export. Refuses to overwrite an existing key (exit 7).

${STORE_EXIT_STATUS}`;
  static examples = ['<%= config.bin %> <%= command.id %>', 'CLOUDCOIN_PASSPHRASE=... <%= config.bin %> <%= command.id %> --network dev --json'];

  async run(): Promise<{ keyFile: string; fingerprint: string }> {
    const { flags } = await this.parse(StoreInit);
    const paths = storePaths(this.location(flags).datadir);
    const keyFile = paths.key;
    await mkdir(paths.dir, { recursive: true, mode: 0o700 });
    const { fingerprint } = await initKey(keyFile, await storePassphrase(true));
    this.say(`store key ${fingerprint} created in ${keyFile}\nexport a copy with: cloudcoin store key export --out <file>`);
    return { keyFile, fingerprint };
  }
}
