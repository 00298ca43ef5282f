import { Args, Flags } from '@oclif/core';
import { BaseCommand, EXIT_STATUS } from '../../lib/cli/base.js';
import { NodeClient } from '../../lib/node/client.js';
import { acceptOffer, parseDuration, parseSize } from '../../lib/negotiator/client.js';
import type { NegotiateResult } from '../../lib/negotiator/index.js';
import { parseAmount } from '../../lib/wallet/amount.js';

export default class ContractAccept extends BaseCommand {
  static summary = 'Negotiate a contract on an offer, sign it and fund it.';
  static description = `Runs propose → (counter) → accept → both sign → the funding transaction, which this node broadcasts: the payment and the host's collateral locked in escrow (docs/protocol.md §4). A counter is accepted only at the size and duration asked, within --max-price and --min-collateral (default: the offer's own). The node must be connected to the host's node. Exits 0 once funding is broadcast (mine or wait for a block to see it in contract list); 1 when refused or unanswered; 5 when the wallet lacks funds.

${EXIT_STATUS}`;
  static examples = [
    '<%= config.bin %> <%= command.id %> 75f18d78… --size 10GiB --duration 30d',
    '<%= config.bin %> <%= command.id %> 75f18d78… --size 500MB --duration 4320 --max-price 0.0015 --json',
  ];
  static args = { offer: Args.string({ description: 'Offer hash (from contract offers).', required: true }) };
  static flags = {
    size: Flags.string({ summary: 'Bytes to store: 10GiB, 500MB, …', required: true }),
    duration: Flags.string({ summary: 'Blocks, or 30d, 12h, 2w, 3mo (144 blocks a day).', required: true }),
    'max-price': Flags.string({ summary: 'Highest price accepted in a counter, CC per GiB per month.' }),
    'min-collateral': Flags.string({ summary: 'Least collateral accepted in a counter, CC per GiB per month.' }),
    timeout: Flags.integer({ summary: 'Seconds to wait for the outcome.', default: 60, min: 1, max: 3600 }),
  };

  async run(): Promise<NegotiateResult> {
    const { args, flags } = await this.parse(ContractAccept);
    const options = {
      offer: args.offer, size: parseSize(flags.size), duration: parseDuration(flags.duration),
      maxPrice: flags['max-price'] ? parseAmount(flags['max-price']) : undefined,
      minCollateral: flags['min-collateral'] ? parseAmount(flags['min-collateral']) : undefined,
      timeout: flags.timeout * 1000,
    };
    const r = await acceptOffer(NodeClient.connect(this.location(flags).datadir), options);
    this.say(`contract ${r.negotiation.contractId} funded\nfunding txid ${r.txid}`);
    return r;
  }
}
