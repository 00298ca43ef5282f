import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../lib/cli/base.js';
import { STORE_EXIT_STATUS, withStore } from '../../lib/cli/store.js';
import { humanBytes, terminalProgress } from '../../lib/ui/progress.js';

export interface PushResult {
  snapshot: string;
  files: number;
  bytes: number;
  newBytes: number;
  uploaded: number;
  seconds: number;
  sectors: number;
  hosts: number;
  skipped: string[];
  warnings: string[];
}

export default class StorePush extends BaseCommand {
  static summary = 'Back up a directory as a new snapshot on the contracted hosts.';
  static description = `Walks the directory, cuts files into content-defined chunks, uploads only chunks no earlier snapshot stored, packs them into sectors encrypted with XChaCha20-Poly1305, erasure-codes each sector k-of-n over the hosts (n = the contracted hosts, k about n/1.5) and writes the encrypted manifest to every host. An interrupted push resumes: shards hosts acknowledged are not uploaded again. Progress on a terminal only; --json prints the summary (snapshot, files, bytes, newBytes, uploaded, seconds).

${STORE_EXIT_STATUS}`;
  static examples = ['<%= config.bin %> <%= command.id %> ~/Documents', '<%= config.bin %> <%= command.id %> /srv/www --tag nightly --json'];
  static args = { dir: Args.directory({ description: 'Directory to back up.', required: true, exists: true }) };
  static flags = { tag: Flags.string({ summary: 'Tag the snapshot (repeatable).', multiple: true }) };

  async run(): Promise<PushResult> {
    const { args, flags } = await this.parse(StorePush);
    const ui = terminalProgress(this.jsonEnabled());
    const r = await withStore(this.location(flags).datadir, async ({ store, hosts }) => {
      try {
        const s = await store.push(args.dir, { tags: flags.tag ?? [], progress: ui.progress });
        return { ...s, hosts: hosts.length };
      } finally {
        ui.stop();
      }
    });
    const { snapshot, files, bytes, newBytes, uploaded, seconds, sectors, hosts, skipped, warnings } = r;
    for (const w of [...skipped.map((s) => `skipped ${s}`), ...warnings]) process.stderr.write(`warning: ${w}\n`);
    this.say(`snapshot ${snapshot.slice(0, 16)} saved: ${files} files, ${humanBytes(bytes)} (${humanBytes(newBytes)} new, ${humanBytes(uploaded)} uploaded to ${hosts} hosts) in ${seconds.toFixed(1)} s`);
    if (warnings.length > 0) process.exitCode = 6;
    return { snapshot, files, bytes, newBytes, uploaded, seconds, sectors, hosts, skipped, warnings };
  }
}
