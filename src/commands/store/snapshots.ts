import { BaseCommand } from '../../lib/cli/base.js';
import { STORE_EXIT_STATUS, withStore } from '../../lib/cli/store.js';
import type { SnapshotInfo } from '../../lib/store/index.js';
import { formatSize } from '../../lib/units.js';

export default class StoreSnapshots extends BaseCommand {
  static summary = 'List the snapshots stored on the hosts, oldest first.';
  static description = `Read from the hosts themselves (each manifest fetched once, then cached locally), so a new machine sees every snapshot made elsewhere with the same key.

${STORE_EXIT_STATUS}`;
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json'];

  async run(): Promise<{ snapshots: SnapshotInfo[] }> {
    const { flags } = await this.parse(StoreSnapshots);
    const snapshots = await withStore(this.location(flags).datadir, ({ store }) => store.snapshots());
    if (snapshots.length === 0) this.say('no snapshots');
    for (const s of snapshots) {
      this.say(`${s.id.slice(0, 16)}  ${s.time}  ${s.hostname}  ${s.source}  ${s.files} files  ${formatSize(s.bytes)}${s.tags.length ? `  [${s.tags.join(', ')}]` : ''}`);
    }
    return { snapshots };
  }
}
