import { Args } from '@oclif/core';
import { BaseCommand, CloudCoinError, EXIT_STATUS, ExitCode } from '../../lib/cli/base.js';
import { readPassphrase } from '../../lib/cli/passphrase.js';
import { NodeClient } from '../../lib/node/node-client.js';
import { formatAmount, parseAmount } from '../../lib/wallet/amount.js';
import { send, type SendResult } from '../../lib/wallet/wallet.js';

export default class WalletSend extends BaseCommand {
  static summary = 'Send CC to an address.';
  static description = `The amount is in CC with up to 8 decimals. The wallet passphrase comes from CLOUDCOIN_PASSPHRASE or a prompt.\n\n${EXIT_STATUS}`;
  static examples = ['<%= config.bin %> <%= command.id %> dcc1qxy... 1.5 --network dev', 'CLOUDCOIN_PASSPHRASE=secret <%= config.bin %> <%= command.id %> dcc1qxy... 0.001 --json'];
  static args = {
    address: Args.string({ description: 'Address to pay.', required: true }),
    amount: Args.string({ description: 'Amount in CC, e.g. 1.5.', required: true }),
  };

  async run(): Promise<SendResult> {
    const { args, flags } = await this.parse(WalletSend);
    const amount = parseAmount(args.amount);
    const client = NodeClient.connect(this.location(flags).datadir);
    const passphrase = await readPassphrase('Wallet passphrase: ');
    if (!passphrase) throw new CloudCoinError('ENOPASSPHRASE', 'the wallet passphrase is needed: set CLOUDCOIN_PASSPHRASE or run on a terminal', ExitCode.auth);
    const result = await send(client, args.address, amount, passphrase);
    this.say(`sent ${formatAmount(result.amount)} CC to ${result.address} (fee ${formatAmount(result.fee)} CC)\ntxid ${result.txid}`);
    return result;
  }
}
