import { Flags } from '@oclif/core';
import { BaseCommand, EXIT_STATUS } from '../../lib/cli/base.js';
import { devnetStatus, type ParticipantStatus } from '../../lib/devnet/devnet.js';
import { formatParticipants } from '../../lib/devnet/format.js';

export default class DevnetStatus extends BaseCommand {
  static summary = "Show the devnet's participants: running, height, peers, balance.";
  static description = EXIT_STATUS;
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --dir /tmp/devnet --json'];
  static flags = { dir: Flags.directory({ summary: 'Directory of the devnet (default ~/.cloudcoin/devnet).' }) };

  async run(): Promise<{ dir: string; participants: ParticipantStatus[] }> {
    const { flags } = await this.parse(DevnetStatus);
    const status = await devnetStatus(flags.dir);
    this.say(formatParticipants(status.participants));
    return status;
  }
}
