import { Flags } from '@oclif/core';
import { join } from 'node:path';
import { BaseCommand, EXIT_STATUS } from '../../lib/cli/base.js';
import { runDemo, type DemoResult } from '../../lib/devnet/demo.js';

export default class DevnetDemo extends BaseCommand {
  static summary = 'Show CloudCoin working: a dev network, contracts with its hosts, a payment, a directory pushed and pulled back.';
  static description = `Starts (or resumes) the devnet with the renter contracting every host (devnet up --contracts), pays a host from the renter's wallet, mines the payment and shows it arrive, then pushes a small directory to the hosts with the store (encrypted, erasure-coded) and pulls it back identical. The devnet keeps running afterwards; "devnet down" stops it.\n\n${EXIT_STATUS}`;
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --dir /tmp/devnet --hosts 3 --json'];
  static flags = {
    hosts: Flags.integer({ summary: 'How many host nodes.', default: 3, min: 1, max: 32 }),
    dir: Flags.directory({ summary: 'Directory of the devnet (default ~/.cloudcoin/devnet).' }),
  };

  async run(): Promise<DemoResult> {
    const { flags } = await this.parse(DevnetDemo);
    return runDemo({ dir: flags.dir, hosts: flags.hosts, bin: join(this.config.root, 'bin', 'run.js'), say: (l) => this.say(l) });
  }
}
