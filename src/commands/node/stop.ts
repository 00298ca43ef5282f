import { BaseCommand, EXIT_STATUS } from '../../lib/cli/base.js';
import { stopNode } from '../../lib/node/control.js';

export default class NodeStop extends BaseCommand {
  static summary = 'Stop the running node gracefully: databases flushed and closed.';
  static description = `Sends the node SIGTERM and waits until its process has exited.\n\n${EXIT_STATUS}`;
  static examples = ['<%= config.bin %> <%= command.id %> --network dev', '<%= config.bin %> <%= command.id %> --datadir /srv/cc --json'];

  async run(): Promise<{ stopped: true; pid: number; datadir: string }> {
    const { flags } = await this.parse(NodeStop);
    const { datadir } = this.location(flags);
    const info = await stopNode(datadir);
    this.say(`node stopped (pid ${info.pid})`);
    return { stopped: true, pid: info.pid, datadir };
  }
}
