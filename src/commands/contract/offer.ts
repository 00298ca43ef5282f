import { Flags } from '@oclif/core';
import { BaseCommand, EXIT_STATUS } from '../../lib/cli/base.js';
import { NodeClient } from '../../lib/node/client.js';
import { createOffer, formatSize, parseDuration, parseSize, parseValidity, withdrawOffer } from '../../lib/negotiator/client.js';
import type { HostSettings, OfferInfo } from '../../lib/negotiator/index.js';
import { formatAmount, parseAmount } from '../../lib/wallet/amount.js';

export default class ContractOffer extends BaseCommand {
  static summary = 'Publish (or replace, or withdraw) this host\'s storage offer.';
  static description = `The offer spreads over P2P like a transaction; a new one replaces this host's previous one. Prices are CC per GiB per month; sizes like 10GiB or 500MB; durations in blocks or like 30d, 12h, 2w, 3mo (144 blocks a day). The host policy flags are kept by the node: proposes are answered by them (auto) or wait for \`contract approve\` (--manual).

${EXIT_STATUS}`;
  static examples = [
    '<%= config.bin %> <%= command.id %> --price 0.001 --collateral 0.002 --min-size 1GiB --max-size 1TiB --min-duration 1d --max-duration 12mo --url https://host.example:8443 --capacity 4TiB',
    '<%= config.bin %> <%= command.id %> --price 0.001 --collateral 0.002 --url http://127.0.0.1:9000 --manual --json',
    '<%= config.bin %> <%= command.id %> --withdraw',
  ];
  static flags = {
    price: Flags.string({ summary: 'Price, CC per GiB per month.' }),
    collateral: Flags.string({ summary: 'Collateral locked, CC per GiB per month.' }),
    'min-size': Flags.string({ summary: 'Smallest contract size.', default: '1GiB' }),
    'max-size': Flags.string({ summary: 'Largest contract size.', default: '1TiB' }),
    'min-duration': Flags.string({ summary: 'Shortest contract, blocks or 1d/2w/3mo.', default: '1d' }),
    'max-duration': Flags.string({ summary: 'Longest contract, blocks or 1d/2w/3mo.', default: '12mo' }),
    url: Flags.string({ summary: 'This host\'s file server URL (http or https).' }),
    validity: Flags.string({ summary: 'How long the offer stands (seconds or 12h, 7d, 2w).', default: '7d' }),
    capacity: Flags.string({ summary: 'Policy: total bytes this host commits (default: 10 × max size).' }),
    'max-contracts': Flags.integer({ summary: 'Policy: most contracts at once.', min: 1 }),
    'price-floor': Flags.string({ summary: 'Policy: lowest price taken, CC per GiB per month.' }),
    manual: Flags.boolean({ summary: 'Policy: proposes wait for contract approve/refuse.', allowNo: true }),
    withdraw: Flags.boolean({ summary: 'Withdraw the current offer instead.', exclusive: ['price', 'collateral', 'url'] }),
  };

  async run(): Promise<{ offer: OfferInfo; host: HostSettings } | { withdrawn: boolean; hash: string }> {
    const { flags } = await this.parse(ContractOffer);
    if (flags.withdraw) {
      const w = await withdrawOffer(NodeClient.connect(this.location(flags).datadir));
      this.say(`offer withdrawn (${w.hash})`);
      return w;
    }
    if (!flags.price || !flags.collateral || !flags.url) this.error('--price, --collateral and --url are needed (or --withdraw)', { exit: 2 });
    const maxSize = parseSize(flags['max-size']);
    const host: Partial<HostSettings> = {
      capacity: flags.capacity ? parseSize(flags.capacity) : maxSize * 10,
      maxContracts: flags['max-contracts'],
      priceFloor: flags['price-floor'] ? parseAmount(flags['price-floor']) : undefined,
      mode: flags.manual === undefined ? undefined : flags.manual ? 'manual' : 'auto',
    };
    const offer = {
      price: parseAmount(flags.price), collateral: parseAmount(flags.collateral),
      minSize: parseSize(flags['min-size']), maxSize, minDuration: parseDuration(flags['min-duration']), maxDuration: parseDuration(flags['max-duration']),
      url: flags.url, validity: parseValidity(flags.validity), host,
    };
    const r = await createOffer(NodeClient.connect(this.location(flags).datadir), offer);
    this.say(`offer ${r.offer.hash}\n  ${formatAmount(r.offer.price)} CC/GiB/month, collateral ${formatAmount(r.offer.collateral)}, ${formatSize(r.offer.minSize)}–${formatSize(r.offer.maxSize)}, ${r.offer.minDuration}–${r.offer.maxDuration} blocks\n  policy: ${r.host.mode}, capacity ${formatSize(r.host.capacity)}, at most ${r.host.maxContracts} contracts`);
    return r;
  }
}
