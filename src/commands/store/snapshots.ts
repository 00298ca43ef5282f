import { StoreCommand } from '../../lib/cli/store-command.js';
import { warnHidden } from '../../lib/cli/hidden-snapshots.js';
import { STORE_EXIT_STATUS, withStore } from '../../lib/cli/store.js';
import type { HiddenSnapshot, SnapshotInfo } from '../../lib/store/index.js';
import { formatSize } from '../../lib/units.js';

export default class StoreSnapshots extends StoreCommand {
  static summary = 'List the snapshots stored on the hosts, oldest first.';
  static description = `Read from the hosts themselves (each manifest fetched once, then cached locally), so a new machine sees every snapshot made elsewhere with the same key.

A snapshot this machine pushed or listed before that no host lists now is named in a warning (and in hidden, with --json): a host may be hiding it, its hosts may be down, or it was forgotten on another machine. Until it is forgotten (store forget <id>), pull latest refuses to take an older one for the latest, and prune refuses.

${STORE_EXIT_STATUS}`;
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json'];

  async run(): Promise<{ snapshots: SnapshotInfo[]; hidden: HiddenSnapshot[] }> {
    const { flags } = await this.parse(StoreSnapshots);
    const { snapshots, hidden } = await withStore(this.storeAt(flags), async ({ store }) => ({ snapshots: await store.snapshots(), hidden: store.hiddenSnapshots() }));
    warnHidden(hidden);
    if (snapshots.length === 0) this.say('no snapshots');
    for (const s of snapshots) {
      this.say(`${s.id.slice(0, 16)}  ${s.time}  ${s.hostname}  ${s.source}  ${s.files} files  ${formatSize(s.bytes)}${s.tags.length ? `  [${s.tags.join(', ')}]` : ''}`);
    }
    return { snapshots, hidden };
  }
}
