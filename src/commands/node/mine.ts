import { Args, Flags } from '@oclif/core';
import { BaseCommand, EXIT_STATUS } from '../../lib/cli/base.js';
import { NodeClient } from '../../lib/node/node-client.js';
import { mine } from '../../lib/node/status.js';
import { checkAddress, receiveAddress } from '../../lib/wallet/wallet.js';

export default class NodeMine extends BaseCommand {
  static summary = 'Mine blocks on demand (dev network only).';
  static description = `Pays the blocks to --address, or to the wallet's receive address.\n\n${EXIT_STATUS}`;
  static examples = ['<%= config.bin %> <%= command.id %> 10 --network dev', '<%= config.bin %> <%= command.id %> 101 --datadir ./dev1 --address dcc1q... --json'];
  static args = { count: Args.integer({ description: 'How many blocks.', required: true, min: 1, max: 10000 }) };
  static flags = { address: Flags.string({ summary: 'Address the block rewards go to.' }) };

  async run(): Promise<{ blocks: string[]; address: string }> {
    const { args, flags } = await this.parse(NodeMine);
    const client = NodeClient.connect(this.location(flags).datadir);
    if (flags.address) await checkAddress(flags.address, client.runtime.network);
    const address = flags.address ?? (await receiveAddress(client));
    const blocks = await mine(client, args.count, address);
    this.say(`mined ${blocks.length} blocks to ${address}`);
    return { blocks, address };
  }
}
