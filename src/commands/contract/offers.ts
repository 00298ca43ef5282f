import { Flags } from '@oclif/core';
import { BaseCommand, EXIT_STATUS } from '../../lib/cli/base.js';
import { NodeClient } from '../../lib/node/client.js';
import { formatSize, listOffers } from '../../lib/negotiator/client.js';
import type { OfferInfo } from '../../lib/negotiator/index.js';
import { formatAmount, parseAmount } from '../../lib/wallet/amount.js';

export default class ContractOffers extends BaseCommand {
  static summary = 'List the storage offers this node knows, with each host\'s reputation.';
  static description = `Reputation is computed from the chain's ratings (1..5, 3 with none; see docs/protocol.md §7).

${EXIT_STATUS}`;
  static examples = [
    '<%= config.bin %> <%= command.id %> --network dev',
    '<%= config.bin %> <%= command.id %> --max-price 0.002 --min-reputation 3.5 --sort reputation --json',
  ];
  static flags = {
    'max-price': Flags.string({ summary: 'Only offers at most this price, CC per GiB per month.' }),
    'min-reputation': Flags.string({ summary: 'Only hosts with at least this reputation score (1..5).' }),
    sort: Flags.string({ summary: 'Order.', options: ['price', 'collateral', 'reputation', 'expiry'], default: 'price' }),
  };

  async run(): Promise<{ offers: OfferInfo[] }> {
    const { flags } = await this.parse(ContractOffers);
    const minReputation = flags['min-reputation'] === undefined ? undefined : Number(flags['min-reputation']);
    if (minReputation !== undefined && !(minReputation >= 1 && minReputation <= 5)) this.error('--min-reputation must be a number from 1 to 5', { exit: 2 });
    const offers = await listOffers(NodeClient.connect(this.location(flags).datadir), {
      maxPrice: flags['max-price'] ? parseAmount(flags['max-price']) : undefined, minReputation, sort: flags.sort,
    });
    if (offers.length === 0) this.say('no offers');
    for (const o of offers) {
      this.say(`${o.hash}${o.mine ? ' (mine)' : ''}\n  ${formatAmount(o.price)} CC/GiB/month, collateral ${formatAmount(o.collateral)}, ${formatSize(o.minSize)}–${formatSize(o.maxSize)}, ${o.minDuration}–${o.maxDuration} blocks\n  host ${o.hostKey} reputation ${o.reputation.score.toFixed(2)} (${o.reputation.count} ratings)  ${o.url}`);
    }
    return { offers };
  }
}
