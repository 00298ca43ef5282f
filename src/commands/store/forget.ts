import { Args, Flags } from '@oclif/core';
import { StoreCommand } from '../../lib/cli/store-command.js';
import { STORE_EXIT_STATUS, withStore } from '../../lib/cli/store.js';
import type { PruneResult } from '../../lib/store/index.js';

export default class StoreForget extends StoreCommand {
  static summary = 'Forget snapshots by id or by a keep policy; --prune then deletes the data no snapshot needs.';
  static description = `Deletes the snapshots' manifests from every host. With --keep-last and/or --keep-daily, every snapshot the policy does not keep is forgotten too. Their data stays on the hosts until a prune (--prune here, or store prune). A host that is down keeps its copy of a manifest: the warnings say so (exit 6), and forgetting again later finishes. A snapshot this machine saw before that no host lists now (store snapshots warns of it) can be named too: this machine then stops remembering it.

${STORE_EXIT_STATUS}`;
  static examples = [
    '<%= config.bin %> <%= command.id %> 3f2a9c1e',
    '<%= config.bin %> <%= command.id %> --keep-last 7 --keep-daily 30 --prune --json',
  ];
  static strict = false;
  static args = { snapshot: Args.string({ description: 'Snapshot ids, prefixes or latest (several allowed).' }) };
  static flags = {
    'keep-last': Flags.integer({ summary: 'Keep the N newest snapshots.', min: 0 }),
    'keep-daily': Flags.integer({ summary: 'Keep the newest snapshot of each of the last N days that have one.', min: 0 }),
    prune: Flags.boolean({ summary: 'Then delete the sectors no remaining snapshot needs.' }),
  };

  async run(): Promise<{ removed: string[]; kept: string[]; warnings: string[]; prune: PruneResult | null }> {
    const { argv, flags } = await this.parse(StoreForget);
    const snapshots = argv as string[];
    if (snapshots.length === 0 && flags['keep-last'] === undefined && flags['keep-daily'] === undefined) {
      this.error('name snapshots to forget, or give --keep-last / --keep-daily', { exit: 2 });
    }
    const r = await withStore(this.storeAt(flags), async ({ store, signal }) => {
      const f = await store.forget({ snapshots, keepLast: flags['keep-last'], keepDaily: flags['keep-daily'], signal });
      return { ...f, prune: flags.prune ? await store.prune({ signal }) : null };
    });
    for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
    this.say(`forgot ${r.removed.length} snapshots, kept ${r.kept.length}${r.prune ? `; pruned ${r.prune.deleted} objects` : ''}`);
    if (r.warnings.length > 0) process.exitCode = 6;
    return r;
  }
}
