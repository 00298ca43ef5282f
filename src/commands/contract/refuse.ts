import { Args, Flags } from '@oclif/core';
import { BaseCommand, EXIT_STATUS } from '../../lib/cli/base.js';
import { NodeClient } from '../../lib/node/node-client.js';
import { refuse } from '../../lib/renter/index.js';
import type { NegotiationInfo } from '../../lib/negotiator/index.js';

export default class ContractRefuse extends BaseCommand {
  static summary = 'Refuse a pending propose (host in manual mode).';
  static description = `Sends ccrefuse with the reason. Exits 1 if nothing with that id is pending.

${EXIT_STATUS}`;
  static examples = ['<%= config.bin %> <%= command.id %> 5c1e…', '<%= config.bin %> <%= command.id %> 5c1e… --reason price --json'];
  static args = { id: Args.string({ description: 'Negotiation id (or contract id) from contract pending.', required: true }) };
  static flags = { reason: Flags.string({ summary: 'Reason sent to the renter.', options: ['other', 'price', 'capacity', 'contracts', 'range', 'offer', 'funding'], default: 'other' }) };

  async run(): Promise<NegotiationInfo> {
    const { args, flags } = await this.parse(ContractRefuse);
    const n = await refuse(NodeClient.connect(this.location(flags).datadir), args.id, flags.reason);
    this.say(`refused ${n.nid} (${flags.reason})`);
    return n;
  }
}
