import { Flags } from '@oclif/core';
import { StoreCommand } from '../../lib/cli/store-command.js';
import { STORE_EXIT_STATUS, withStore } from '../../lib/cli/store.js';
import type { PruneResult } from '../../lib/store/index.js';

export default class StorePrune extends StoreCommand {
  static summary = 'Delete from the hosts every sector no snapshot needs, and the shard copies store repair placed elsewhere.';
  static description = `A host that was gone while store repair rebuilt its shards elsewhere still holds the old copies when it comes back: those are deleted too (superseded in --json), each only once the host the repair put it on lists it. Refuses (exit 6, nothing deleted) while a host cannot be listed or a manifest cannot be read, since the sectors it needs would look unused. Refuses (exit 1, nothing deleted) while a snapshot this machine pushed or listed before is listed by no host (see store snapshots): a host hiding it would otherwise have its data deleted. --forget-hidden lets go of those snapshots and prunes.

${STORE_EXIT_STATUS}`;
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json', '<%= config.bin %> <%= command.id %> --forget-hidden'];
  static flags = { 'forget-hidden': Flags.boolean({ summary: 'Stop remembering the snapshots no host lists, and prune what only they needed.' }) };

  async run(): Promise<PruneResult> {
    const { flags } = await this.parse(StorePrune);
    const r = await withStore(this.storeAt(flags), ({ store, signal }) => store.prune({ signal, forgetHidden: flags['forget-hidden'] }));
    for (const id of r.forgotten) process.stderr.write(`warning: snapshot ${id.slice(0, 16)}, listed by no host, forgotten\n`);
    this.say(`deleted ${r.deleted} objects from the hosts${r.superseded > 0 ? ` (${r.superseded} superseded shard copies)` : ''}; ${r.sectors} sectors dropped from the local index`);
    return r;
  }
}
