import { Args, Flags } from '@oclif/core';
import { BaseCommand, EXIT_STATUS } from '../../lib/cli/base.js';
import { NodeClient } from '../../lib/node/node-client.js';
import { rateContract } from '../../lib/renter/index.js';
import type { RatingInfo } from '../../lib/negotiator/index.js';

export default class ContractRate extends BaseCommand {
  static summary = 'Rate the other party of a funded contract, on chain.';
  static description = `Puts a rating record, signed with this node's contract key, in output 0 of a wallet transaction (the wallet pays the fee). Only a party of a funded contract can rate it, once: a second rating, or one by anyone else, is ignored by every node's registry. Exits 1 if this node is not a party, 7 if it already rated, 5 without funds for the fee.

${EXIT_STATUS}`;
  static examples = ['<%= config.bin %> <%= command.id %> 8fbe…b7 5', '<%= config.bin %> <%= command.id %> 8fbe…b7 2 --comment "slow downloads" --json'];
  static args = {
    contract: Args.string({ description: 'Contract id.', required: true }),
    score: Args.integer({ description: 'Score, 1 (bad) to 5 (good).', required: true, min: 1, max: 5 }),
  };
  static flags = { comment: Flags.string({ summary: 'Up to 140 bytes of UTF-8.', default: '' }) };

  async run(): Promise<RatingInfo> {
    const { args, flags } = await this.parse(ContractRate);
    const r = await rateContract(NodeClient.connect(this.location(flags).datadir), args.contract, args.score, flags.comment);
    this.say(`rating ${r.score}/5 broadcast in ${r.txid}`);
    return r;
  }
}
