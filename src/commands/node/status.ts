import { BaseCommand, EXIT_STATUS } from '../../lib/cli/base.js';
import { NodeClient } from '../../lib/node/node-client.js';
import { nodeStatus, type NodeStatus } from '../../lib/node/status.js';

export default class NodeStatusCommand extends BaseCommand {
  static summary = 'Show the running node: network, height, tip, peers, mempool, uptime, extensions.';
  static description = EXIT_STATUS;
  static examples = ['<%= config.bin %> <%= command.id %> --network dev', '<%= config.bin %> <%= command.id %> --datadir /srv/cc --json'];

  async run(): Promise<NodeStatus> {
    const { flags } = await this.parse(NodeStatusCommand);
    const s = await nodeStatus(NodeClient.connect(this.location(flags).datadir));
    this.say([
      `network     ${s.network}`,
      `height      ${s.height}`,
      `tip         ${s.tip}`,
      `peers       ${s.peers.outbound} outbound, ${s.peers.inbound} inbound`,
      `mempool     ${s.mempool.transactions} transactions, ${s.mempool.bytes} bytes`,
      `uptime      ${s.uptime} s`,
      `extensions  ${s.extensions.join(', ') || '(none)'}`,
      `ports       P2P ${s.ports.p2p}, HTTP ${s.ports.http}, wallet ${s.ports.wallet}`,
    ].join('\n'));
    return s;
  }
}
