import { Args } from '@oclif/core';
import { BaseCommand, EXIT_STATUS } from '../../lib/cli/base.js';
import { NodeClient } from '../../lib/node/node-client.js';
import { reputation } from '../../lib/renter/index.js';
import type { RatingInfo, Reputation } from '../../lib/negotiator/index.js';

export default class ContractReputation extends BaseCommand {
  static summary = 'Compute a key\'s reputation from the chain\'s ratings.';
  static description = `score = (3 × W0 + Σ w·s) / (W0 + Σ w), each rating weighted by w = (payment + collateral) × duration / 4320 of the contract it rates, W0 = one coin-month (docs/protocol.md §7). Every node computes the same number from the same chain.

${EXIT_STATUS}`;
  static examples = ['<%= config.bin %> <%= command.id %> 03f439…5c', '<%= config.bin %> <%= command.id %> 03f439…5c --json'];
  static args = { key: Args.string({ description: 'A renter or host key (66 hex digits).', required: true }) };

  async run(): Promise<Reputation & { key: string; ratings: RatingInfo[] }> {
    const { args, flags } = await this.parse(ContractReputation);
    const r = await reputation(NodeClient.connect(this.location(flags).datadir), args.key);
    this.say(`${r.key}\n  score ${r.score.toFixed(3)} from ${r.count} ratings (weight ${r.weight.toFixed(0)} base-unit-months)`);
    return r;
  }
}
