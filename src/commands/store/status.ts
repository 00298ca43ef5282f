import { Flags } from '@oclif/core';
import { StoreCommand } from '../../lib/cli/store-command.js';
import { STORE_EXIT_STATUS, withStore } from '../../lib/cli/store.js';
import type { StatusResult } from '../../lib/store/index.js';

export default class StoreStatus extends StoreCommand {
  static summary = 'Show each snapshot\'s health: shards present over shards wanted.';
  static description = `A shard is present when its host listed it, is contracted and has not missed a proof window; wanted is the renter policy's count (min(n, contracted hosts), at least k + 1 where there are that many). Read from the hosts' listings and the local index: no shard data is downloaded. belowN counts sectors short of the wanted count (store repair rebuilds them), belowK those that cannot be read now.

Exit 0 at 100%, 6 below it, 1 when some sector cannot be read.

${STORE_EXIT_STATUS}`;
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json'];
  static flags = {
    'repair-after': Flags.integer({ summary: 'Seconds a host may be unreachable before its shards count as lost (default: the renter policy\'s repairAfter).', min: 0 }),
  };

  async run(): Promise<StatusResult> {
    const { flags } = await this.parse(StoreStatus);
    const r = await withStore(this.storeAt(flags), async ({ store, policy, badHosts }) =>
      store.status({ repairAfter: flags['repair-after'] ?? policy.repairAfter, bad: await badHosts() }),
    );
    for (const s of r.snapshots) this.say(`${s.id.slice(0, 16)}  ${s.time}  ${s.health}%  ${s.sectors} sectors, ${s.belowN} below n, ${s.belowK} below k  ${s.source}`);
    for (const h of r.hosts.filter((x) => !x.up || x.bad)) this.say(`host ${h.backend}: ${h.bad ? 'missed proofs' : `down since ${h.downSince}`}`);
    const o = r.overall;
    this.say(`overall ${o.health}%: ${o.sectors} sectors, ${o.belowN} below n, ${o.belowK} below k${r.queued > 0 ? `, ${r.queued} queued for repair` : ''}`);
    if (o.belowK > 0) process.exitCode = 1;
    else if (o.belowN > 0) process.exitCode = 6;
    return r;
  }
}
