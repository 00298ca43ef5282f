import { Args, Flags } from '@oclif/core';
import { StoreCommand } from '../../lib/cli/store-command.js';
import { warnHidden } from '../../lib/cli/hidden-snapshots.js';
import { STORE_EXIT_STATUS, withStore } from '../../lib/cli/store.js';
import type { HiddenSnapshot, PullSummary } from '../../lib/store/index.js';
import { formatSize } from '../../lib/units.js';
import { terminalProgress } from '../../lib/ui/terminal.js';

export default class StorePull extends StoreCommand {
  static summary = 'Restore a snapshot into a directory, or as a tar stream with --stdout.';
  static description = `Fetches any k shards of each sector from whichever hosts answer, verifies and decrypts them, and recreates files, directories, symlinks (as links), hard links, modes and mtimes. Files are written atomically and never outside the target: .. paths, absolute paths and writes through symlinks are refused. A host that returned wrong bytes is named in the result (corrupt) and its shards replaced by others'. Exit 6 when some entries could not be restored (listed), 0 otherwise. A full disk stops the restore (exit 1): the files restored by then stay, every other file is as it was, and pulling again after freeing space finishes the job. Ctrl-C (SIGINT) or SIGTERM stops it the same way at the next chunk, with exit 130 or 143; no temp file is left. With --stdout, a reader that stops early (| head) ends the pull with exit 1 and one line saying how many entries were sent.

latest is the newest snapshot the hosts list. When a newer one this machine pushed or listed before is listed by no host (a host hiding it, or its hosts down), pull latest restores nothing and exits 6 saying which: name the older snapshot to restore it anyway. Any other snapshot seen before and listed by no host is a warning (hidden, with --json).

${STORE_EXIT_STATUS}`;
  static examples = [
    '<%= config.bin %> <%= command.id %> latest ~/restore',
    '<%= config.bin %> <%= command.id %> 3f2a9c1e ~/restore --include docs/report.pdf --include photos',
    '<%= config.bin %> <%= command.id %> latest --stdout | tar -t',
  ];
  static args = {
    snapshot: Args.string({ description: 'Snapshot id, unique prefix, or latest.', required: true }),
    target: Args.string({ description: 'Directory to restore into (created if missing).' }),
  };
  static flags = {
    include: Flags.string({ summary: 'Restore only this path and what is below it (repeatable; exit 2 if the snapshot has no such path).', multiple: true }),
    stdout: Flags.boolean({ summary: 'Write a tar stream to stdout instead of a directory.', exclusive: ['json'] }),
  };

  async run(): Promise<PullSummary & { hidden: HiddenSnapshot[] }> {
    const { args, flags } = await this.parse(StorePull);
    if (!flags.stdout && !args.target) this.error('a target directory is needed (or --stdout)', { exit: 2 });
    const ui = terminalProgress(this.jsonEnabled());
    const r = await withStore(this.storeAt(flags), async ({ store, signal }) => {
      try {
        const options = { include: flags.include, progress: ui.progress, signal };
        const pulled = flags.stdout ? await store.pullTar(args.snapshot, process.stdout, options) : await store.pull(args.snapshot, args.target!, options);
        return { ...pulled, hidden: store.hiddenSnapshots() };
      } finally {
        ui.stop();
      }
    });
    warnHidden(r.hidden);
    for (const e of r.errors) process.stderr.write(`not restored: ${e}\n`);
    for (const c of r.corrupt) process.stderr.write(`warning: host ${c.backend} returned corrupt data for ${c.shard.slice(0, 16)}; other shards were used\n`);
    if (!flags.stdout) this.say(`snapshot ${r.snapshot.slice(0, 16)} restored to ${args.target}: ${r.files} files, ${formatSize(r.bytes)} in ${r.seconds.toFixed(1)} s`);
    if (r.errors.length > 0) process.exitCode = r.files > 0 ? 6 : 1;
    return r;
  }
}
