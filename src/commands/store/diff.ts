import { Args } from '@oclif/core';
import { StoreCommand } from '../../lib/cli/store-command.js';
import { STORE_EXIT_STATUS, withStore } from '../../lib/cli/store.js';
import type { Change } from '../../lib/store/index.js';

export default class StoreDiff extends StoreCommand {
  static summary = 'What changed between two snapshots, path by path.';
  static description = `${STORE_EXIT_STATUS}`;
  static examples = ['<%= config.bin %> <%= command.id %> 3f2a9c1e latest', '<%= config.bin %> <%= command.id %> 3f2a 91bc --json'];
  static args = {
    a: Args.string({ description: 'The older snapshot.', required: true }),
    b: Args.string({ description: 'The newer snapshot.', required: true }),
  };

  async run(): Promise<{ changes: Change[] }> {
    const { args, flags } = await this.parse(StoreDiff);
    const changes = await withStore(this.storeAt(flags), ({ store }) => store.diff(args.a, args.b));
    for (const c of changes) this.say(`${String(c.change).padEnd(9)} ${c.path}`);
    return { changes };
  }
}
