import { Flags } from '@oclif/core';
import { BaseCommand, EXIT_STATUS } from '../lib/cli/base.js';
import { serve, DEFAULT_SERVE_PORT, type ServeInfo } from '../lib/server/serve-command.js';

export default class Serve extends BaseCommand {
  static summary = 'Run the light file server that stores sectors for this host\'s contracts.';
  static description = `Renters upload encrypted sectors here, each request signed by the contract's renter key. The server asks a Negotiator which contracts are live: the node of the same data directory by default, or a remote node with --negotiator and --api-key (then this machine needs no node). Give a remote node's serve key (node serve-key), which cannot negotiate, rate or settle. A remote Negotiator is reached over https:// (--negotiator-ca for a self-signed certificate); http:// is refused off loopback unless --insecure. It serves only contracts whose host is that Negotiator's identity (or --host-key), and no contract beyond its size. Answers are cached (--cache-ttl: shorter sees a contract end sooner, longer asks the Negotiator less), so known contracts are still served while the Negotiator is briefly unreachable. One log line a request goes to stderr (--log-format json for JSON lines). SIGINT or SIGTERM stop it after uploads in flight finish.

${EXIT_STATUS}`;
  static examples = [
    '<%= config.bin %> <%= command.id %> --network dev --port 48480',
    '<%= config.bin %> <%= command.id %> --storage /srv/sectors --max-storage 500GiB',
    'CLOUDCOIN_API_KEY=... <%= config.bin %> <%= command.id %> --negotiator https://10.0.0.5:8432 --negotiator-ca /srv/cc/node-cert.pem --storage /srv/sectors',
  ];
  static flags = {
    storage: Flags.string({ summary: 'Directory for sectors (default <datadir>/sectors).' }),
    port: Flags.integer({ summary: `TCP port (default ${DEFAULT_SERVE_PORT}).`, min: 0, max: 65535 }),
    host: Flags.string({ summary: 'Address to listen on (default 0.0.0.0).' }),
    'max-storage': Flags.string({ summary: 'Most bytes to store in all, e.g. 500GiB (default: the disk).' }),
    negotiator: Flags.string({ summary: 'Base URL of a remote node whose Negotiator knows the contracts.' }),
    'api-key': Flags.string({ summary: "That node's serve key (node serve-key) or API key.", env: 'CLOUDCOIN_API_KEY' }),
    'negotiator-ca': Flags.string({ summary: 'PEM CA certificate an https Negotiator must chain to (for a self-signed one).' }),
    insecure: Flags.boolean({ summary: 'Allow an http:// Negotiator that is not on loopback (the key travels in the clear).' }),
    'host-key': Flags.string({ summary: "Serve only contracts with this host key, 66 hex (default: the Negotiator's identity)." }),
    'cache-ttl': Flags.string({ summary: "How long a contract's answer from the Negotiator is reused, e.g. 30s, 2m (default 30s).", env: 'CLOUDCOIN_SERVE_CACHE_TTL' }),
    'log-format': Flags.string({ summary: 'One line per request: text, json or none.', options: ['text', 'json', 'none'], default: 'text' }),
  };

  async run(): Promise<ServeInfo> {
    const { flags } = await this.parse(Serve);
    return serve({
      location: this.location(flags),
      storage: flags.storage,
      port: flags.port,
      host: flags.host,
      maxStorage: flags['max-storage'],
      negotiator: flags.negotiator,
      apiKey: flags['api-key'],
      negotiatorCa: flags['negotiator-ca'],
      insecure: flags.insecure,
      hostKey: flags['host-key'],
      logFormat: flags['log-format'] as 'text' | 'json' | 'none',
      cacheTtl: flags['cache-ttl'],
    }, (info) => {
      if (this.jsonEnabled()) this.logJson({ event: 'listening', ...info });
      this.say(`serving on ${info.url}, sectors in ${info.storage}, Negotiator ${info.negotiator}`);
    });
  }
}
