import { Flags } from '@oclif/core';
import { BaseCommand, EXIT_STATUS } from '../../lib/cli/base.js';
import { devnetDown, type DownResult } from '../../lib/devnet/devnet.js';

export default class DevnetDown extends BaseCommand {
  static summary = 'Stop every node the devnet started.';
  static description = `The data directories stay, so "devnet up" resumes the same chain; --clean deletes them. A node still running a minute after it was asked to stop is killed, named on stderr and in "killed" (--json).\n\n${EXIT_STATUS}`;
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --dir /tmp/devnet --clean --json'];
  static flags = {
    dir: Flags.directory({ summary: 'Directory of the devnet (default ~/.cloudcoin/devnet).' }),
    clean: Flags.boolean({ summary: 'Delete the devnet directory after stopping.' }),
  };

  async run(): Promise<DownResult> {
    const { flags } = await this.parse(DevnetDown);
    const result = await devnetDown(flags.dir, flags.clean);
    for (const name of result.killed) process.stderr.write(`warning: ${name}'s node did not stop within a minute of SIGTERM and was killed\n`);
    this.say(`stopped ${result.stopped.length} nodes${result.killed.length ? ` (${result.killed.length} killed)` : ''}${flags.clean ? `, removed ${result.dir}` : ''}`);
    return result;
  }
}
