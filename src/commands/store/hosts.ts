import { Args, Flags } from '@oclif/core';
import { BaseCommand, EXIT_STATUS } from '../../lib/cli/base.js';
import { renterPolicyOf, type RenterPolicy } from '../../lib/config/renter-policy.js';
import { CloudCoinError, ExitCode } from '../../lib/errors.js';
import { NodeClient } from '../../lib/node/node-client.js';
import type { ChoiceResult, ThroughputSource } from '../../lib/renter/host-choice.js';
import { addStoreHost, chooseStoreHosts, listStoreHosts, removeStoreHost, type StoreHostRow } from '../../lib/renter/store-hosts.js';
import { formatSize, parseDuration, parseSize } from '../../lib/units.js';
import { parseAmount } from '../../lib/wallet/amount.js';

/** MB/s (10^6 bytes), as link speeds are given. */
function _rate(bytesPerSecond: number | null): string {
  return bytesPerSecond === null ? '- MB/s' : `${(bytesPerSecond / 1e6).toFixed(1)} MB/s`;
}

/** What a chosen host's throughput was scored on when its probe measured nothing now. */
const _UNMEASURED: Record<ThroughputSource, string> = {
  measured: '',
  remembered: ' (probe refused: scored on the figure remembered)',
  refused: ' (probe refused: scored neutral)',
  failed: ' (probe failed: scored as the slowest)',
};

export default class StoreHosts extends BaseCommand {
  static summary = 'List, add, remove or choose the hosts the store keeps contracted.';
  static description = `list (the default): every funded or active contract of this renter with its host: key, contract, end height, file server URL, price and collateral (base units per GiB-month), reputation (1..5), share of proof windows proven, round trip of the server's /status and the rate of a 1 MiB download from it (MB/s; "-" when it does not serve GET /v1/probe), whether it is removed, and renewal links.

add <offer-hash|host-key>: contracts that host on the renter policy's terms (config.json "renter", docs/store.md), if the policy allows its offer.

remove <host-key>: marks the host removed: it is neither renewed nor chosen again, and repair moves its shards; until then the store still reads them.

choose: contracts the best offers until the policy's number of hosts have a contract, never two with one host (docs/store.md, "Which hosts", has the score). Each host's throughputSource says what its throughput was scored on: measured now, remembered (it refused the probe; the figure its last probe gave), refused (nothing remembered: neutral) or failed (scored as the slowest). The renter's node does the same on its own when config.json holds a "renter" policy.

Flags override the policy for this call.

${EXIT_STATUS}`;
  static examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> choose --hosts 4 --max-price 0.002',
    '<%= config.bin %> <%= command.id %> add 75f18d78… --size 10GiB --duration 30d',
    '<%= config.bin %> <%= command.id %> remove 02a1b2… --json',
  ];
  static args = {
    action: Args.string({ description: 'What to do.', options: ['list', 'add', 'remove', 'choose'], default: 'list' }),
    target: Args.string({ description: 'add: an offer hash or host key; remove: a host key.' }),
  };
  static flags = {
    hosts: Flags.integer({ summary: 'Hosts to keep contracted (policy "hosts").', min: 1 }),
    'max-price': Flags.string({ summary: 'Highest price, CC per GiB per month (policy "maxPrice").' }),
    'min-collateral': Flags.string({ summary: 'Least collateral, CC per GiB per month (policy "minCollateral").' }),
    size: Flags.string({ summary: 'Size of each contract: 500MB, 10GiB (policy "contractSize").' }),
    duration: Flags.string({ summary: 'Blocks each contract lasts, or 30d, 2w, 3mo (policy "duration").' }),
  };

  async run(): Promise<{ hosts: StoreHostRow[] } | ChoiceResult | { hostKey: string; contractId: string; txid: string | null } | { hostKey: string; removed: string[] }> {
    const { args, flags } = await this.parse(StoreHosts);
    const datadir = this.location(flags).datadir;
    const overrides: Partial<RenterPolicy> = {
      hosts: flags.hosts,
      maxPrice: flags['max-price'] === undefined ? undefined : parseAmount(flags['max-price']),
      minCollateral: flags['min-collateral'] === undefined ? undefined : parseAmount(flags['min-collateral']),
      contractSize: flags.size === undefined ? undefined : parseSize(flags.size),
      duration: flags.duration === undefined ? undefined : parseDuration(flags.duration),
    };
    const policy = renterPolicyOf(datadir, overrides);
    const client = NodeClient.connect(datadir);
    if ((args.action === 'add' || args.action === 'remove') && !args.target) throw new CloudCoinError('EUSAGE', `store hosts ${args.action} needs a ${args.action === 'add' ? 'offer hash or host key' : 'host key'}`, ExitCode.usage);
    switch (args.action) {
      case 'add': {
        const r = await addStoreHost(client, datadir, policy, args.target!);
        this.say(`host ${r.hostKey} contracted: contract ${r.negotiation.contractId}, ${formatSize(policy.contractSize)} for ${policy.duration} blocks (funding txid ${r.txid})`);
        return { hostKey: r.hostKey, contractId: r.negotiation.contractId, txid: r.txid };
      }
      case 'remove': {
        const r = await removeStoreHost(client, datadir, args.target!);
        this.say(`host ${r.hostKey} removed: not renewed or chosen again; its shards stay readable until repair moves them`);
        return r;
      }
      case 'choose':
        return this._choose(await chooseStoreHosts(client, datadir, policy));
      default:
        return this._list(await listStoreHosts(client, datadir));
    }
  }

  private _choose(r: ChoiceResult): ChoiceResult {
    for (const h of r.contracted) this.say(`contracted ${h.hostKey}  contract ${h.contractId}  score ${h.score.toFixed(3)}  ${Math.round(h.latencyMs)} ms ${_rate(h.throughputBps)}${_UNMEASURED[h.throughputSource]}`);
    for (const f of r.failed) this.say(`failed ${f.hostKey}: ${f.reason}`);
    if (r.wanted === 0) this.say('the policy\'s hosts are contracted already');
    if (r.contracted.length < r.wanted) {
      process.stderr.write(`warning: ${r.contracted.length} of ${r.wanted} hosts wanted could be contracted (${r.setAside.length} offers set aside: contract offers lists them)\n`);
      process.exitCode = ExitCode.partial;
    }
    return r;
  }

  private _list(hosts: StoreHostRow[]): { hosts: StoreHostRow[] } {
    if (hosts.length === 0) this.say('no contracted hosts: store hosts choose, or store hosts add <offer>');
    for (const h of hosts) {
      const latency = h.latencyMs === null ? 'no answer' : `${Math.round(h.latencyMs)} ms ${_rate(h.throughputBps)}`;
      const proven = h.fulfilment === null ? '-' : `${Math.round(h.fulfilment * 100)}%`;
      const link = h.renewedTo ? `  renewed as ${h.renewedTo.slice(0, 16)}` : h.renewedFrom ? `  renews ${h.renewedFrom.slice(0, 16)}` : '';
      this.say(`${h.hostKey}  ${h.contractId.slice(0, 16)}  ${h.state.padEnd(6)} end ${h.endHeight}  price ${h.price} collateral ${h.collateral}  rep ${h.reputation.toFixed(1)} proven ${proven}  ${latency}${h.removed ? '  REMOVED' : ''}${link}\n    ${h.url ?? '(no offer: URL unknown)'}`);
    }
    return { hosts };
  }
}
