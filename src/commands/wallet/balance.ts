import { BaseCommand, EXIT_STATUS } from '../../lib/cli/base.js';
import { NodeClient } from '../../lib/node/node-client.js';
import { formatAmount } from '../../lib/wallet/amount.js';
import { getBalance, type Balance } from '../../lib/wallet/wallet.js';

export default class WalletBalance extends BaseCommand {
  static summary = 'Show the wallet balance in CC (base units with --json).';
  static description = `confirmed counts transactions in blocks; unconfirmed counts the mempool too.\n\n${EXIT_STATUS}`;
  static examples = ['<%= config.bin %> <%= command.id %> --network dev', '<%= config.bin %> <%= command.id %> --datadir ./renter --json'];

  async run(): Promise<Balance> {
    const { flags } = await this.parse(WalletBalance);
    const b = await getBalance(NodeClient.connect(this.location(flags).datadir));
    this.say(`confirmed    ${formatAmount(b.confirmed)} CC\nunconfirmed  ${formatAmount(b.unconfirmed)} CC`);
    return b;
  }
}
