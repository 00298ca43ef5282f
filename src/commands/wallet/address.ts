import { Flags } from '@oclif/core';
import { BaseCommand, EXIT_STATUS } from '../../lib/cli/base.js';
import { NodeClient } from '../../lib/node/node-client.js';
import { receiveAddress } from '../../lib/wallet/wallet.js';

export default class WalletAddress extends BaseCommand {
  static summary = "Show the wallet's receive address.";
  static description = EXIT_STATUS;
  static examples = ['<%= config.bin %> <%= command.id %> --network dev', '<%= config.bin %> <%= command.id %> --new --json'];
  static flags = { new: Flags.boolean({ summary: 'Derive a new address instead of showing the current one.' }) };

  async run(): Promise<{ address: string }> {
    const { flags } = await this.parse(WalletAddress);
    const address = await receiveAddress(NodeClient.connect(this.location(flags).datadir), flags.new);
    this.say(address);
    return { address };
  }
}
