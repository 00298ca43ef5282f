import { Flags } from '@oclif/core';
import { BaseCommand, EXIT_STATUS } from '../../lib/cli/base.js';
import { devnetDown } from '../../lib/devnet/devnet.js';

export default class DevnetDown extends BaseCommand {
  static summary = 'Stop every node the devnet started.';
  static description = `The data directories stay, so "devnet up" resumes the same chain; --clean deletes them.\n\n${EXIT_STATUS}`;
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --dir /tmp/devnet --clean --json'];
  static flags = {
    dir: Flags.directory({ summary: 'Directory of the devnet (default ~/.cloudcoin/devnet).' }),
    clean: Flags.boolean({ summary: 'Delete the devnet directory after stopping.' }),
  };

  async run(): Promise<{ dir: string; stopped: string[] }> {
    const { flags } = await this.parse(DevnetDown);
    const result = await devnetDown(flags.dir, flags.clean);
    this.say(`stopped ${result.stopped.length} nodes${flags.clean ? `, removed ${result.dir}` : ''}`);
    return result;
  }
}
