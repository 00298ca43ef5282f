import { Flags } from '@oclif/core';
import { BaseCommand, EXIT_STATUS } from '../../lib/cli/base.js';
import { NodeClient } from '../../lib/node/node-client.js';
import { listContracts } from '../../lib/renter/index.js';
import { formatSize } from '../../lib/units.js';
import type { ContractListItem, NegotiationInfo } from '../../lib/negotiator/index.js';

export default class ContractList extends BaseCommand {
  static summary = 'List this node\'s contracts, as renter and as host, with their state.';
  static description = `States: negotiating (not on chain yet), funded (on chain, before its start), active, expired (past its end, money still in escrow), settled (both escrow outputs spent). Read from the node's registry of the chain. Each contract shows its proof windows proven of all; \`contract show\` has the rest of its fulfilment.

${EXIT_STATUS}`;
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --role host --json'];
  static flags = { role: Flags.string({ summary: 'Only contracts in this role.', options: ['renter', 'host', 'any'], default: 'any' }) };

  async run(): Promise<{ contracts: ContractListItem[]; negotiating: NegotiationInfo[] }> {
    const { flags } = await this.parse(ContractList);
    const r = await listContracts(NodeClient.connect(this.location(flags).datadir), flags.role);
    if (r.contracts.length + r.negotiating.length === 0) this.say('no contracts');
    for (const c of r.contracts) {
      const f = c.fulfilment;
      const windows = f ? `  windows ${f.proven}/${f.windows} proven${f.missed > 0 ? `, ${f.missed} missed` : ''}` : '';
      const link = f?.renewedTo ? `  renewed as ${f.renewedTo.slice(0, 16)}` : f?.renewedFrom ? `  renews ${f.renewedFrom.slice(0, 16)}` : '';
      this.say(`${c.id}  ${c.state.padEnd(8)} ${c.role.padEnd(6)} ${formatSize(c.size)}  blocks ${c.startHeight}–${c.endHeight}${windows}${link}`);
    }
    for (const n of r.negotiating) this.say(`${n.contractId}  negotiating (${n.state}) ${n.role}  ${formatSize(n.size)}`);
    return r;
  }
}
