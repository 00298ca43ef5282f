import { Args } from '@oclif/core';
import { StoreCommand } from '../../lib/cli/store-command.js';
import { STORE_EXIT_STATUS, withStore } from '../../lib/cli/store.js';
import type { ListEntry } from '../../lib/store/index.js';

export default class StoreLs extends StoreCommand {
  static summary = 'List the entries of a snapshot, or of one directory in it.';
  static description = `${STORE_EXIT_STATUS}`;
  static examples = ['<%= config.bin %> <%= command.id %> latest', '<%= config.bin %> <%= command.id %> 3f2a9c1e docs --json'];
  static args = {
    snapshot: Args.string({ description: 'Snapshot id, unique prefix, or latest.', required: true }),
    path: Args.string({ description: 'A directory or file in the snapshot (exit 2 if it has none).' }),
  };

  async run(): Promise<{ entries: ListEntry[] }> {
    const { args, flags } = await this.parse(StoreLs);
    const entries = await withStore(this.storeAt(flags), ({ store }) => store.ls(args.snapshot, args.path));
    for (const e of entries) this.say(_line(e));
    return { entries };
  }
}

function _line(e: ListEntry): string {
  const mode = (e.mode & 0o7777).toString(8).padStart(4, '0');
  return `${e.type.padEnd(9)} ${mode} ${String(e.size ?? '').padStart(12)}  ${e.path}${e.target ? ` -> ${e.target}` : ''}`;
}
