import { Flags } from '@oclif/core';
import { StoreCommand } from '../../lib/cli/store-command.js';
import { STORE_EXIT_STATUS, withStore } from '../../lib/cli/store.js';
import type { RepairResult } from '../../lib/store/index.js';
import { formatSize } from '../../lib/units.js';

export default class StoreRepair extends StoreCommand {
  static summary = 'Rebuild the shards of hosts that are gone onto the hosts left, back to the renter policy\'s redundancy.';
  static description = `A shard is rebuilt when its host is no longer contracted, missed a proof window of its contract, answers without it, or has not answered for longer than the renter policy's repairAfter (seconds; --repair-after overrides). Each such sector is decoded from any k of its other shards and its lost shards, and the spare ones a push at reduced redundancy left out, are uploaded to hosts holding none of it; where they went is stored on every host beside the manifests, so any machine with the key reads them. Manifests are copied to hosts that lack them. The node runs this on its own when it has the store passphrase (node start --store-passphrase-file).

Exit 0 when every sector is at full redundancy afterwards, 6 when some are still below it (hosts waited for, or too few hosts to place on), 1 when some sector has fewer than k shards left.

${STORE_EXIT_STATUS}`;
  static examples = [
    '<%= config.bin %> <%= command.id %>',
    { description: 'A host is known to be gone for good: rebuild its shards now.', command: '<%= config.bin %> <%= command.id %> --repair-after 0 --json' },
  ];
  static flags = {
    'repair-after': Flags.integer({ summary: 'Seconds a host may be unreachable before its shards are rebuilt (default: the renter policy\'s repairAfter).', min: 0 }),
  };

  async run(): Promise<RepairResult> {
    const { flags } = await this.parse(StoreRepair);
    const r = await withStore(
      this.storeAt(flags),
      async ({ store, signal, policy, badHosts }) => store.repair({ repairAfter: flags['repair-after'] ?? policy.repairAfter, bad: await badHosts(), signal }),
      {},
      'upload',
    );
    for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
    for (const h of r.hosts.filter((x) => !x.up || x.bad)) {
      const state = h.bad ? 'missed proofs' : h.givenUp ? `down since ${h.downSince}, given up` : `down since ${h.downSince}, waited for`;
      process.stderr.write(`host ${h.backend}: ${state}\n`);
    }
    const rate = r.seconds > 0 ? ` (${formatSize(r.bytes / r.seconds)}/s)` : '';
    this.say(`${r.repaired} of ${r.sectors} sectors repaired: ${r.shards} shards, ${formatSize(r.bytes)} rebuilt and uploaded in ${r.seconds.toFixed(1)} s${rate}; ${r.belowN.length} below full redundancy, ${r.lost.length} unreadable`);
    if (r.lost.length > 0) process.exitCode = 1;
    else if (r.belowN.length > 0 || r.warnings.length > 0) process.exitCode = 6;
    return r;
  }
}
