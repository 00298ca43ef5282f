import { Args } from '@oclif/core';
import { BaseCommand, EXIT_STATUS } from '../../lib/cli/base.js';
import { NodeClient } from '../../lib/node/node-client.js';
import { showContract } from '../../lib/renter/index.js';
import { formatSize } from '../../lib/units.js';
import type { ContractDetail, FulfilmentInfo } from '../../lib/negotiator/index.js';
import { formatAmount } from '../../lib/wallet/amount.js';

export default class ContractShow extends BaseCommand {
  static summary = 'Show one contract as the chain records it, with its ratings and, for this node\'s own, its fulfilment.';
  static description = `Any contract on chain, not only this node's. Exits 1 if the chain has no such contract.

For a contract this node is a party of, its fulfilment as this node's daemon sees it: proof windows proven and missed, the next window's opening height, what the latest payment revision pays the host (earned: the host's due, or what the renter signed to pay), what the chain shows paid, and the latest commitment and payment revisions.

${EXIT_STATUS}`;
  static examples = ['<%= config.bin %> <%= command.id %> 8fbe…b7', '<%= config.bin %> <%= command.id %> 8fbe…b7 --json'];
  static args = { id: Args.string({ description: 'Contract id (64 hex digits).', required: true }) };

  async run(): Promise<ContractDetail> {
    const { args, flags } = await this.parse(ContractShow);
    const c = await showContract(NodeClient.connect(this.location(flags).datadir), args.id);
    this.say([
      `contract  ${c.id}  ${c.state}`,
      `renter    ${c.renterKey}`,
      `host      ${c.hostKey}`,
      `size      ${formatSize(c.size)}, blocks ${c.startHeight}–${c.endHeight}, refund path from ${c.refundHeight}`,
      `escrow    payment ${formatAmount(c.payment)} CC, collateral ${formatAmount(c.collateral)} CC (funding ${c.fundingTxid} at ${c.height})`,
      ...(c.fulfilment ? fulfilmentLines(c.fulfilment) : []),
      ...c.ratings.map((r) => `rating    ${r.score}/5 by ${r.raterKey.slice(0, 16)}… ${r.comment}`),
    ].join('\n'));
    return c;
  }
}

function fulfilmentLines(f: FulfilmentInfo): string[] {
  const commitment = f.commitment ? `revision ${f.commitment.revision}: ${f.commitment.sectors} sectors, ${formatSize(f.commitment.bytes)}` : 'none yet';
  const payment = f.payment ? `revision ${f.payment.seq}: ${f.payment.proven} windows paid${f.payment.acknowledged ? '' : ' (not acknowledged yet)'}` : 'none yet';
  return [
    `windows   ${f.windows}: ${f.proven} proven, ${f.missed} missed${f.nextWindow === null ? '' : `, next opens at ${f.nextWindow}`}`,
    `earned    ${formatAmount(f.earned)} CC${f.paid === null ? '' : `, paid ${formatAmount(f.paid)} CC`}`,
    `revisions commitment ${commitment}; payment ${payment}`,
  ];
}
