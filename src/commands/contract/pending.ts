import { BaseCommand, EXIT_STATUS } from '../../lib/cli/base.js';
import { NodeClient } from '../../lib/node/client.js';
import { formatSize, pending } from '../../lib/negotiator/client.js';
import type { PendingInfo } from '../../lib/negotiator/index.js';

export default class ContractPending extends BaseCommand {
  static summary = 'List proposes waiting for approve or refuse (host in manual mode).';
  static description = `Each with what the host policy would answer. A propose can be approved until it expires (10 minutes by default).

${EXIT_STATUS}`;
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json'];

  async run(): Promise<{ pending: PendingInfo[] }> {
    const { flags } = await this.parse(ContractPending);
    const list = await pending(NodeClient.connect(this.location(flags).datadir));
    if (list.length === 0) this.say('nothing pending');
    for (const p of list) this.say(`${p.nid}  ${formatSize(p.size)} for ${p.duration} blocks at ${p.price}/GiB/month  renter ${p.renterKey.slice(0, 16)}…  policy: ${p.advice}`);
    return { pending: list };
  }
}
