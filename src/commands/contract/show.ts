import { Args } from '@oclif/core';
import { BaseCommand, EXIT_STATUS } from '../../lib/cli/base.js';
import { NodeClient } from '../../lib/node/node-client.js';
import { showContract } from '../../lib/renter/index.js';
import { formatSize } from '../../lib/units.js';
import type { ContractInfo, RatingInfo } from '../../lib/negotiator/index.js';
import { formatAmount } from '../../lib/wallet/amount.js';

export default class ContractShow extends BaseCommand {
  static summary = 'Show one contract as the chain records it, with its ratings.';
  static description = `Any contract on chain, not only this node's. Exits 1 if the chain has no such contract.

${EXIT_STATUS}`;
  static examples = ['<%= config.bin %> <%= command.id %> 8fbe…b7', '<%= config.bin %> <%= command.id %> 8fbe…b7 --json'];
  static args = { id: Args.string({ description: 'Contract id (64 hex digits).', required: true }) };

  async run(): Promise<ContractInfo & { ratings: RatingInfo[] }> {
    const { args, flags } = await this.parse(ContractShow);
    const c = await showContract(NodeClient.connect(this.location(flags).datadir), args.id);
    this.say([
      `contract  ${c.id}  ${c.state}`,
      `renter    ${c.renterKey}`,
      `host      ${c.hostKey}`,
      `size      ${formatSize(c.size)}, blocks ${c.startHeight}–${c.endHeight}, refund path from ${c.refundHeight}`,
      `escrow    payment ${formatAmount(c.payment)} CC, collateral ${formatAmount(c.collateral)} CC (funding ${c.fundingTxid} at ${c.height})`,
      ...c.ratings.map((r) => `rating    ${r.score}/5 by ${r.raterKey.slice(0, 16)}… ${r.comment}`),
    ].join('\n'));
    return c;
  }
}
