import { Flags } from '@oclif/core';
import { StoreCommand } from '../../lib/cli/store-command.js';
import { STORE_EXIT_STATUS, withStore } from '../../lib/cli/store.js';
import { DEFAULT_SAMPLE, type CheckResult } from '../../lib/store/index.js';
import { formatSize } from '../../lib/units.js';

export default class StoreCheck extends StoreCommand {
  static summary = 'Check every shard of every snapshot on its host by proofs of random segments; --read-data downloads, verifies and decrypts them instead.';
  static description = `Each host's roots are checked against the latest commitment revision this renter signed with it (from the node), then a few random 64-byte segments of each shard are proven against the committed root: a host that deleted a shard, kept a stub of it or answers with another sector's data fails. Shards stored after the host's latest commitment are proven against the roots the host serves, and listed in uncommitted (--json). A host that does not answer but holds nothing a snapshot needs, its shards rebuilt elsewhere by store repair, is listed in retired and is no problem. Exit 0 when everything is in place; 6 when something is missing, corrupt or unreachable but every sector can still be rebuilt; 1 when some sector cannot be rebuilt (listed in unreadable).

${STORE_EXIT_STATUS}`;
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --sample 16', '<%= config.bin %> <%= command.id %> --read-data --json'];
  static flags = {
    'read-data': Flags.boolean({ summary: 'Download every shard and decrypt every sector.', exclusive: ['sample'] }),
    sample: Flags.integer({ summary: `Segments proven a shard (default ${DEFAULT_SAMPLE}).`, min: 1 }),
  };

  async run(): Promise<CheckResult> {
    const { flags } = await this.parse(StoreCheck);
    const readData = flags['read-data'];
    const r = await withStore(this.storeAt(flags), ({ store, signal, verifiers }) =>
      store.check({ readData, signal, sample: flags.sample, verifiers: readData ? undefined : verifiers() }),
    );
    for (const m of r.missing) process.stderr.write(`missing: ${m.backend} lacks ${m.shard.slice(0, 16)}\n`);
    for (const c of r.corrupt) process.stderr.write(`corrupt: ${c.backend} ${c.reason ? `fails ${c.shard.slice(0, 16)}: ${c.reason}` : `returned wrong bytes for ${c.shard.slice(0, 16)}`}\n`);
    for (const u of r.unavailable) process.stderr.write(`unavailable: ${u}\n`);
    for (const b of r.retired) process.stderr.write(`retired: ${b} does not answer and holds nothing a snapshot needs (repair placed its shards elsewhere)\n`);
    for (const s of r.unreadable) process.stderr.write(`unreadable sector: ${s.slice(0, 16)}\n`);
    const how = readData ? ' read and decrypted' : `, ${r.sampled.segments} segments (${formatSize(r.sampled.bytes)}) proven${r.uncommitted.length ? `, ${r.uncommitted.length} shards not committed yet` : ''}`;
    this.say(`${r.ok ? 'ok' : 'PROBLEMS'}: ${r.snapshots} snapshots, ${r.sectors} sectors, ${r.shards} shards${how}`);
    if (!r.ok) process.exitCode = r.unreadable.length > 0 ? 1 : 6;
    return r;
  }
}
