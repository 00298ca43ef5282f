import { Args, Flags } from '@oclif/core';
import { StoreCommand } from '../../lib/cli/store-command.js';
import { STORE_EXIT_STATUS, withStore } from '../../lib/cli/store.js';
import { CloudCoinError, ExitCode } from '../../lib/errors.js';
import type { PushSummary } from '../../lib/store/index.js';
import { formatSize } from '../../lib/units.js';
import { terminalProgress } from '../../lib/ui/terminal.js';

/** The engine's summary as --json prints it: hosts by key and count, k-of-n by the flags' names. */
export interface PushResult extends Omit<PushSummary, 'hostsDown' | 'n' | 'k'> {
  /** Hosts the snapshot is on: those that answered. */
  hosts: number;
  /** Host keys of contracted hosts that did not answer, so hold nothing of this push. */
  hostsDown: string[];
  totalShards: number;
  minShards: number;
}

export default class StorePush extends StoreCommand {
  static summary = 'Back up a directory as a new snapshot on the contracted hosts.';
  static description = `Walks the directory, cuts files into content-defined chunks, uploads only chunks no earlier snapshot stored, packs them into sectors encrypted with XChaCha20-Poly1305, erasure-codes each sector k-of-n over the hosts and writes the encrypted manifest to every host used. An interrupted push resumes: shards hosts acknowledged are not uploaded again. A file whose size and modification time are those it had in the previous snapshot of the same directory is not read again (rsync's quick check); --force reads every file. Progress on a terminal only; --json prints the summary (snapshot, files, bytes, unchanged, newBytes, uploaded, seconds, hosts, hostsDown, totalShards, minShards).

Every contracted host is asked first whether it answers; the push uses only those that do. k and n come from the renter policy (config.json "renter", default 2-of-4): each new sector gets min(n, contracted hosts) shards, at least k + 1 where that many hosts are contracted (2-of-3 with three). A host that does not answer is named in a warning and in hostsDown; while enough others answer the exit code stays 0. When fewer answer than that count, the push stores on all that do, down to k, warns "reduced redundancy" (with NO redundancy at exactly k), queues the sectors for store repair, and exits 6. Fewer than k answering is exit 1, with nothing written. --total-shards sets n outright (all n must answer; k then defaults to about n/1.5).

${STORE_EXIT_STATUS}`;
  static examples = [
    '<%= config.bin %> <%= command.id %> ~/Documents',
    '<%= config.bin %> <%= command.id %> /srv/www --tag nightly --json',
    {
      description: 'Read every file again, e.g. after a tool rewrote files keeping their size and mtime.',
      command: '<%= config.bin %> <%= command.id %> ~/Documents --force',
    },
    {
      description: 'Two of three hosts answer: store 1-of-2 on those two.',
      command: '<%= config.bin %> <%= command.id %> ~/Documents --total-shards 2',
    },
    {
      description: 'Six hosts: survive the loss of any three of them (3-of-6, 2x overhead).',
      command: '<%= config.bin %> <%= command.id %> ~/Documents --total-shards 6 --min-shards 3',
    },
  ];
  static args = { dir: Args.directory({ description: 'Directory to back up.', required: true, exists: true }) };
  static flags = {
    tag: Flags.string({ summary: 'Tag the snapshot (repeatable).', multiple: true }),
    'total-shards': Flags.integer({ summary: 'n: shards per sector, each on a different host, all of which must answer (default: the renter policy\'s n, on the hosts that answer).', min: 1 }),
    'min-shards': Flags.integer({ summary: 'k: shards that rebuild a sector, at most n (default: the renter policy\'s k; about n/1.5 with --total-shards).', min: 1 }),
    force: Flags.boolean({ summary: 'Read every file, even those whose size and mtime are unchanged since the previous snapshot.' }),
  };

  async run(): Promise<PushResult> {
    const { args, flags } = await this.parse(StorePush);
    const shards = { n: flags['total-shards'], k: flags['min-shards'] };
    if (shards.n !== undefined && shards.k !== undefined && shards.k > shards.n) {
      throw new CloudCoinError('EUSAGE', `--min-shards ${shards.k} is more than --total-shards ${shards.n}: any k of the n shards rebuild a sector, so k <= n`, ExitCode.usage);
    }
    const ui = terminalProgress(this.jsonEnabled());
    const r = await withStore(
      this.storeAt(flags),
      async ({ store, hosts, signal }) => {
        try {
          const s = await store.push(args.dir, { tags: flags.tag ?? [], force: flags.force, progress: ui.progress, signal });
          return { ...s, hosts: hosts.length - s.hostsDown.length };
        } finally {
          ui.stop();
        }
      },
      shards,
      'upload',
    );
    const { hostsDown, n, k, ...summary } = r;
    const { snapshot, files, bytes, unchanged, newBytes, uploaded, seconds, hosts, skipped, warnings } = summary;
    for (const d of hostsDown) process.stderr.write(`warning: host ${d.backend} did not answer (${d.reason}); the snapshot is on the others\n`);
    for (const w of [...skipped.map((s) => `skipped ${s}`), ...warnings]) process.stderr.write(`warning: ${w}\n`);
    this.say(`snapshot ${snapshot.slice(0, 16)} saved: ${files} files (${unchanged} unchanged), ${formatSize(bytes)} (${formatSize(newBytes)} new, ${formatSize(uploaded)} uploaded to ${hosts} hosts, ${k}-of-${n}) in ${seconds.toFixed(1)} s`);
    if (warnings.length > 0) process.exitCode = 6;
    return { ...summary, hostsDown: hostsDown.map((d) => d.backend), totalShards: n, minShards: k };
  }
}
