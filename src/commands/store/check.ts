import { Flags } from '@oclif/core';
import { BaseCommand } from '../../lib/cli/base.js';
import { STORE_EXIT_STATUS, withStore } from '../../lib/cli/store.js';
import type { CheckResult } from '../../lib/store/index.js';

export default class StoreCheck extends BaseCommand {
  static summary = 'Check that every shard of every snapshot is on its host; --read-data also downloads, verifies and decrypts them.';
  static description = `Exit 0 when everything is in place; 6 when something is missing, corrupt or unreachable but every sector can still be rebuilt; 1 when some sector cannot be rebuilt (listed in unreadable).

${STORE_EXIT_STATUS}`;
  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --read-data --json'];
  static flags = { 'read-data': Flags.boolean({ summary: 'Download every shard and decrypt every sector.' }) };

  async run(): Promise<CheckResult> {
    const { flags } = await this.parse(StoreCheck);
    const r = await withStore(this.location(flags).datadir, ({ store, signal }) => store.check({ readData: flags['read-data'], signal }));
    for (const m of r.missing) process.stderr.write(`missing: ${m.backend} lacks ${m.shard.slice(0, 16)}\n`);
    for (const c of r.corrupt) process.stderr.write(`corrupt: ${c.backend} returned wrong bytes for ${c.shard.slice(0, 16)}\n`);
    for (const u of r.unavailable) process.stderr.write(`unavailable: ${u}\n`);
    for (const s of r.unreadable) process.stderr.write(`unreadable sector: ${s.slice(0, 16)}\n`);
    this.say(`${r.ok ? 'ok' : 'PROBLEMS'}: ${r.snapshots} snapshots, ${r.sectors} sectors, ${r.shards} shards${flags['read-data'] ? ' read and decrypted' : ' present'}`);
    if (!r.ok) process.exitCode = r.unreadable.length > 0 ? 1 : 6;
    return r;
  }
}
