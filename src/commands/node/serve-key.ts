import { join } from 'node:path';
import { BaseCommand, EXIT_STATUS } from '../../lib/cli/base.js';
import { CloudCoinError, ExitCode } from '../../lib/errors.js';
import { readServeKey, SERVE_KEY_FILE } from '../../lib/node/datafiles.js';

export default class NodeServeKey extends BaseCommand {
  static summary = "Print the key a file server uses to ask this node's Negotiator (serve.key).";
  static description = `The serve key opens only what a file server needs of the node's HTTP API: the chain height, the node's identity, one contract by id, and countersigning a revision the renter signed. Everything else answers 403, so a file server on another machine cannot negotiate, rate, settle or reach the wallet with it. Give it to \`serve --api-key\` (or CLOUDCOIN_API_KEY). The node creates serve.key at start; to replace it, delete the file and restart the node.

${EXIT_STATUS}`;
  static examples = [
    '<%= config.bin %> <%= command.id %> --datadir /srv/cc',
    'CLOUDCOIN_API_KEY=$(<%= config.bin %> <%= command.id %>) <%= config.bin %> serve --negotiator https://node.example:8432 --storage /srv/sectors',
    '<%= config.bin %> <%= command.id %> --network dev --json',
  ];

  async run(): Promise<{ serveKey: string; file: string }> {
    const { flags } = await this.parse(NodeServeKey);
    const { datadir } = this.location(flags);
    const serveKey = readServeKey(datadir);
    if (!serveKey) throw new CloudCoinError('ENOSERVEKEY', `no serve key in ${datadir}: start the node once, it creates ${SERVE_KEY_FILE}`, ExitCode.usage);
    this.say(serveKey);
    return { serveKey, file: join(datadir, SERVE_KEY_FILE) };
  }
}
