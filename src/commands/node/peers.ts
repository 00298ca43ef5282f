import { BaseCommand, EXIT_STATUS } from '../../lib/cli/base.js';
import { NodeClient } from '../../lib/node/node-client.js';
import { nodePeers, type PeerInfo } from '../../lib/node/status.js';

export default class NodePeers extends BaseCommand {
  static summary = 'List the peers the node is connected to.';
  static description = EXIT_STATUS;
  static examples = ['<%= config.bin %> <%= command.id %> --network dev', '<%= config.bin %> <%= command.id %> --datadir /srv/cc --json'];

  async run(): Promise<{ peers: PeerInfo[] }> {
    const { flags } = await this.parse(NodePeers);
    const peers = await nodePeers(NodeClient.connect(this.location(flags).datadir));
    if (peers.length === 0) this.say('no peers');
    for (const p of peers) this.say(`${String(p.id).padStart(4)}  ${p.address.padEnd(22)} ${p.inbound ? 'in ' : 'out'}  height ${p.height}  ${p.subversion}`);
    return { peers };
  }
}
