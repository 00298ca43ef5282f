import { BaseCommand } from '../../lib/cli/base.js';
import { STORE_EXIT_STATUS, withStore } from '../../lib/cli/store.js';
import type { PruneResult } from '../../lib/store/index.js';

export default class StorePrune extends BaseCommand {
  static summary = 'Delete from the hosts every sector no snapshot needs.';
  static description = `Refuses (exit 6, nothing deleted) while a host cannot be listed or a manifest cannot be read, since the sectors it needs would look unused.

${STORE_EXIT_STATUS}`;
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json'];

  async run(): Promise<PruneResult> {
    const { flags } = await this.parse(StorePrune);
    const r = await withStore(this.location(flags).datadir, ({ store, signal }) => store.prune({ signal }));
    this.say(`deleted ${r.deleted} objects from the hosts; ${r.sectors} sectors dropped from the local index`);
    return r;
  }
}
