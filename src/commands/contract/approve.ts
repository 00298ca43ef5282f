import { Args } from '@oclif/core';
import { BaseCommand, EXIT_STATUS } from '../../lib/cli/base.js';
import { NodeClient } from '../../lib/node/node-client.js';
import { approve } from '../../lib/renter/index.js';
import type { NegotiationInfo } from '../../lib/negotiator/index.js';

export default class ContractApprove extends BaseCommand {
  static summary = 'Accept a pending propose as it stands (host in manual mode).';
  static description = `Signs the terms and sends ccaccept; funding follows automatically. Exits 1 if nothing with that id is pending, 7 if it expired or the renter's peer is gone.

${EXIT_STATUS}`;
  static examples = ['<%= config.bin %> <%= command.id %> 5c1e…  # a negotiation id from contract pending'];
  static args = { id: Args.string({ description: 'Negotiation id (or contract id) from contract pending.', required: true }) };

  async run(): Promise<NegotiationInfo> {
    const { args, flags } = await this.parse(ContractApprove);
    const n = await approve(NodeClient.connect(this.location(flags).datadir), args.id);
    this.say(`approved ${n.nid}: contract ${n.contractId} is being signed and funded`);
    return n;
  }
}
