import { BaseCommand, EXIT_STATUS } from '../../lib/cli/base.js';
import { NodeClient } from '../../lib/node/node-client.js';
import { formatAmount } from '../../lib/wallet/amount.js';
import { history, type HistoryEntry } from '../../lib/wallet/wallet.js';

export default class WalletHistory extends BaseCommand {
  static summary = "List the wallet's transactions, newest first.";
  static description = EXIT_STATUS;
  static examples = ['<%= config.bin %> <%= command.id %> --network dev', '<%= config.bin %> <%= command.id %> --json'];

  async run(): Promise<{ transactions: HistoryEntry[] }> {
    const { flags } = await this.parse(WalletHistory);
    const transactions = await history(NodeClient.connect(this.location(flags).datadir));
    if (transactions.length === 0) this.say('no transactions');
    for (const tx of transactions) {
      this.say(`${tx.txid}  ${formatAmount(tx.amount).padStart(20)} CC  ${tx.confirmations} confirmations`);
    }
    return { transactions };
  }
}
