import { Flags } from '@oclif/core';
import { join } from 'node:path';
import { BaseCommand, EXIT_STATUS } from '../../lib/cli/base.js';
import { devnetUp, type Devnet } from '../../lib/devnet/devnet.js';
import { formatParticipants } from '../../lib/devnet/format.js';

export default class DevnetUp extends BaseCommand {
  static summary = 'Start a whole dev network on this machine: one renter and N hosts.';
  static description = `Each participant is a separate node process with its own data directory and free ports on 127.0.0.1, connected to the others and mined past coinbase maturity so every wallet holds coins. The wallets use CLOUDCOIN_PASSPHRASE, or the passphrase "devnet". Running it again on a stopped devnet restarts the same nodes.

${EXIT_STATUS}`;
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --hosts 5 --dir /tmp/devnet --json', '<%= config.bin %> <%= command.id %> --contracts'];
  static flags = {
    hosts: Flags.integer({ summary: 'How many host nodes besides the renter.', default: 3, min: 0, max: 32 }),
    dir: Flags.directory({ summary: 'Directory of the devnet (default ~/.cloudcoin/devnet).' }),
    ext: Flags.string({ summary: 'Extension every node loads (repeatable).', multiple: true }),
    contracts: Flags.boolean({ summary: 'Hosts offer storage at their file servers and the renter contracts each of them (ready for cloudcoin store).' }),
  };

  async run(): Promise<Devnet> {
    const { flags } = await this.parse(DevnetUp);
    const devnet = await devnetUp({ dir: flags.dir, hosts: flags.hosts, bin: join(this.config.root, 'bin', 'run.js'), extensions: flags.ext, contracts: flags.contracts });
    this.say(`devnet up in ${devnet.dir}, height ${devnet.height}\n${formatParticipants(devnet.participants)}\nstop it with: cloudcoin devnet down --dir ${devnet.dir}`);
    return devnet;
  }
}
