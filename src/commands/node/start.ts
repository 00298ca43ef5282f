import { Flags } from '@oclif/core';
import { join, resolve } from 'node:path';
import { BaseCommand, EXIT_STATUS } from '../../lib/cli/base.js';
import { readPassphrase } from '../../lib/cli/passphrase.js';
import { startNodeCommand, type StartResult } from '../../lib/node/start.js';

export default class NodeStart extends BaseCommand {
  static summary = 'Start the CloudCoin daemon: chain, wallet, P2P and extensions.';
  static description = `Runs in the foreground until interrupted (Ctrl-C or SIGTERM stop it cleanly). With --detach it runs in the background, with its pid in node.pid and its output in node.log in the data directory.

The HTTP API listens on 127.0.0.1; --http-host adds a second address for file servers on other machines, with HTTPS (--http-tls-cert, --http-tls-key) unless the address is loopback or --http-behind-proxy says a reverse proxy terminates TLS.

At first start the API key (api.key) and the file servers' scoped key (serve.key, see node serve-key) are created, mode 0600, and the wallet is created and encrypted under a passphrase: CLOUDCOIN_PASSPHRASE, or a prompt on a terminal.

${EXIT_STATUS}`;

  static examples = [
    '<%= config.bin %> <%= command.id %> --network dev --detach',
    '<%= config.bin %> <%= command.id %> --datadir /srv/cc --port 8433 --peers 10.0.0.2:8433',
    '<%= config.bin %> <%= command.id %> --network test --seed seed.example.org --external-address 203.0.113.7',
    '<%= config.bin %> <%= command.id %> --http-host 10.0.0.5 --http-tls-cert /srv/cc/tls/cert.pem --http-tls-key /srv/cc/tls/key.pem',
    'CLOUDCOIN_PASSPHRASE=secret <%= config.bin %> <%= command.id %> --network dev --detach --json',
  ];

  static flags = {
    port: Flags.integer({ summary: 'P2P port.', min: 0, max: 65535 }),
    'http-port': Flags.integer({ summary: 'HTTP API port (on 127.0.0.1, and on --http-host).', min: 0, max: 65535 }),
    'http-host': Flags.string({ summary: 'Serve the HTTP API on this address too, for file servers elsewhere (HTTPS off loopback).' }),
    'http-tls-cert': Flags.string({ summary: 'PEM certificate (chain) for the HTTP API on --http-host.' }),
    'http-tls-key': Flags.string({ summary: 'PEM private key for the HTTP API on --http-host.' }),
    'http-behind-proxy': Flags.boolean({ summary: 'Plain HTTP on a non-loopback --http-host: a reverse proxy in front terminates TLS.' }),
    'wallet-port': Flags.integer({ summary: 'Wallet HTTP API port (on 127.0.0.1).', min: 0, max: 65535 }),
    host: Flags.string({ summary: 'Address the P2P port binds to (default 127.0.0.1 on dev, 0.0.0.0 elsewhere).' }),
    peers: Flags.string({ summary: 'Peers to connect to, host:port, comma-separated.', multiple: true, delimiter: ',' }),
    seed: Flags.string({ summary: 'Seed nodes to learn addresses from, host[:port] or a DNS seed name (repeatable; default: the network\'s seeds).', multiple: true }),
    'external-address': Flags.string({ summary: 'The IP[:port] other nodes reach this one at, put in its offers (default: what its peers see).' }),
    listen: Flags.boolean({ summary: 'Accept inbound P2P connections.', allowNo: true }),
    'api-key': Flags.string({ summary: 'Use this API key instead of the one in the data directory.' }),
    ext: Flags.string({ summary: 'Load an extension: a built-in id or a path to a module.', multiple: true }),
    detach: Flags.boolean({ summary: 'Run in the background and return once the node is ready.' }),
    'store-passphrase-file': Flags.string({ summary: 'File whose first line is the store passphrase: the node then runs store repair on its own (default: CLOUDCOIN_PASSPHRASE).' }),
    'log-level': Flags.string({ summary: 'Log level of debug.log.', options: ['error', 'warning', 'info', 'debug', 'spam'] }),
  };

  async run(): Promise<StartResult | undefined> {
    const { flags } = await this.parse(NodeStart);
    const loc = this.location(flags);
    const result = await startNodeCommand({
      location: loc,
      flags: {
        port: flags.port,
        httpPort: flags['http-port'],
        remoteApi: { host: flags['http-host'], tlsCert: flags['http-tls-cert'], tlsKey: flags['http-tls-key'], behindProxy: flags['http-behind-proxy'] },
        walletPort: flags['wallet-port'],
        host: flags.host,
        peers: flags.peers,
        seeds: flags.seed,
        externalAddress: flags['external-address'],
        listen: flags.listen,
        apiKey: flags['api-key'],
        extensions: flags.ext,
        logLevel: flags['log-level'],
        storePassphraseFile: flags['store-passphrase-file'] && resolve(flags['store-passphrase-file']),
      },
      detach: flags.detach,
      bin: join(this.config.root, 'bin', 'run.js'),
      argv: this.argv,
      passphrase: () => readPassphrase('Passphrase for the new wallet: ', { confirm: true }),
      onReady: (r) => {
        if (this.jsonEnabled() && !flags.detach) this.logJson(r);
        this.say(`node ready: ${r.network} network, height ${r.height}, P2P ${r.host}:${r.port}, HTTP 127.0.0.1:${r.httpPort}${r.httpRemote ? ` and ${r.httpRemote}` : ''}, wallet 127.0.0.1:${r.walletPort}, data ${r.datadir}`);
      },
    });
    if (!flags.detach) this.say('node stopped');
    return flags.detach ? result : undefined;
  }
}
