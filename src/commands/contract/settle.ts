import { Args, Flags } from '@oclif/core';
import { BaseCommand, EXIT_STATUS } from '../../lib/cli/base.js';
import { NodeClient } from '../../lib/node/node-client.js';
import { settleContract } from '../../lib/renter/index.js';
import { formatAmount } from '../../lib/wallet/amount.js';

export default class ContractSettle extends BaseCommand {
  static summary = 'Take back this node\'s own escrow contribution once the refund path opens.';
  static description = `The renter gets its payment back, the host its collateral, each signed with this node's contract key alone; the renter from the contract's refund height (end + 144 blocks), the host 144 blocks later (end + 288), so a renter can settle a host that missed proofs first. Before that only a settlement signed by both keys spends the escrow, and the daemons broadcast those on their own (docs/protocol.md §4.3). Exits 7 before this node's height or if already spent.

${EXIT_STATUS}`;
  static examples = ['<%= config.bin %> <%= command.id %> 8fbe…b7', '<%= config.bin %> <%= command.id %> 8fbe…b7 --fee 5000 --json'];
  static args = { contract: Args.string({ description: 'Contract id.', required: true }) };
  static flags = { fee: Flags.integer({ summary: 'Fee, base units.', default: 2000, min: 0 }) };

  async run(): Promise<{ txid: string; kind: string; value: number }> {
    const { args, flags } = await this.parse(ContractSettle);
    const r = await settleContract(NodeClient.connect(this.location(flags).datadir), args.contract, flags.fee);
    this.say(`${r.kind} of ${formatAmount(r.value)} CC back to the wallet in ${r.txid}`);
    return r;
  }
}
