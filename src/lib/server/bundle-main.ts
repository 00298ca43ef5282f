/**
 * Entry point of the single-file bundle (dist/cloudcoin-serve.mjs), for hosts
 * that run only the file server next to a remote Negotiator:
 *
 *     node cloudcoin-serve.mjs --storage /srv/cc --negotiator https://node:48332 \
 *          --api-key KEY [--negotiator-ca cert.pem] [--port 48480] [--host 0.0.0.0] [--max-storage 500G]
 *
 * or with its settings in the environment or a JSON file (bundle-settings.ts),
 * as Passenger runs it through deploy/passenger/app.cjs. The key (the node's serve
 * key) may come from CLOUDCOIN_API_KEY instead, to keep it out of `ps`.
 * SIGTERM and SIGINT stop it gracefully: uploads in flight finish first.
 */
import { readFileSync } from 'node:fs';
import { ExitCode, isCloudCoinError } from '../errors.js';
import { type BundleValues, resolveBundleSettings } from './bundle-settings.js';
import { parseCacheTtl } from './authority-cache.js';
import { HOST_KEY_WAIT_MS, HttpContractAuthority } from './authority-http.js';
import { tuneHeapForFileServer } from './heap.js';
import type { LogFormat } from './request-log.js';
import { startFileServer } from './file-server.js';
import { parseSize } from '../units.js';

const USAGE = `usage: cloudcoin-serve --storage <dir> --negotiator <url> [--api-key <key>]
       [--negotiator-ca <file>] [--insecure]
       [--port <n>] [--host <addr>] [--base-path <path>] [--max-storage <size>]
       [--host-key <hex>] [--rate-limit <n>] [--cache-ttl <time>]
       [--log-format text|json|none] [--config <file.json>]

  --storage      directory for sectors (created if missing)
  --negotiator   base URL of the node whose Negotiator knows this host's contracts;
                 https:// unless on loopback
  --api-key      that node's serve key, node serve-key (or set CLOUDCOIN_API_KEY)
  --negotiator-ca  PEM CA certificate the Negotiator's must chain to (self-signed)
  --insecure     allow http:// to a Negotiator off loopback (the key in the clear)
  --port         TCP port (default 48480)
  --host         address to listen on (default 0.0.0.0)
  --base-path    path prefix the server answers under, e.g. /cloudcoin
                 (default none; under Passenger, its base URI)
  --max-storage  total size to store at most, e.g. 500G (default: the disk)
  --host-key     serve only contracts with this host key, 66 hex
                 (default: the Negotiator's identity)
  --rate-limit   requests per second per renter key, bursts of twice that (default 50)
  --cache-ttl    how long a contract's answer from the Negotiator is reused, e.g. 30s, 2m
                 (default 30s; shorter sees a contract end sooner)
  --log-format   one line per request as text (default), JSON lines, or none
  --config       a JSON file of these settings by name (or CLOUDCOIN_SERVE_CONFIG)

Every setting may also come from the environment: CLOUDCOIN_SERVE_STORAGE,
CLOUDCOIN_SERVE_MAX_STORAGE, ... Flags win, then the environment, then the file.
`;

function fail(message: string): never {
  process.stderr.write(`cloudcoin-serve: ${message}\n${USAGE}`);
  process.exit(ExitCode.usage);
}

let values: BundleValues;
try {
  values = resolveBundleSettings(
    {
      storage: { type: 'string' },
      negotiator: { type: 'string' },
      'api-key': { type: 'string' },
      'negotiator-ca': { type: 'string' },
      insecure: { type: 'boolean' },
      port: { type: 'string', default: '48480' },
      host: { type: 'string', default: '0.0.0.0' },
      'base-path': { type: 'string' },
      'max-storage': { type: 'string' },
      'host-key': { type: 'string' },
      'rate-limit': { type: 'string', default: '50' },
      'cache-ttl': { type: 'string' },
      'log-format': { type: 'string', default: 'text' },
    },
    process.argv.slice(2),
    process.env,
  );
} catch (err) {
  fail((err as Error).message);
}
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(ExitCode.ok);
}
const opt = (name: string): string | undefined => values[name] as string | undefined;
const storage = opt('storage') ?? fail('--storage is required');
const negotiator = opt('negotiator') ?? fail('--negotiator is required');
const port = Number(opt('port'));
if (!/^\d{1,5}$/.test(opt('port') ?? '') || port > 65535) fail('--port must be 0-65535');
const rate = Number(opt('rate-limit'));
if (!/^\d{1,7}$/.test(opt('rate-limit') ?? '') || rate < 1) fail('--rate-limit must be a positive whole number');
let cacheTtlMs: number | undefined;
try {
  cacheTtlMs = opt('cache-ttl') === undefined ? undefined : parseCacheTtl(opt('cache-ttl') as string);
} catch (err) {
  fail((err as Error).message);
}
const caFile = opt('negotiator-ca');
let ca: Buffer | undefined;
try {
  ca = caFile === undefined ? undefined : readFileSync(caFile);
} catch (err) {
  fail(`cannot read --negotiator-ca: ${(err as Error).message}`);
}
const logFormat = opt('log-format') as LogFormat;
if (!['text', 'json', 'none'].includes(logFormat)) fail('--log-format must be text, json or none');

tuneHeapForFileServer();
try {
  const authority = new HttpContractAuthority({ url: negotiator, apiKey: opt('api-key'), ca, insecure: values.insecure === true });
  const server = await startFileServer({
    storageDir: storage,
    port,
    host: opt('host'),
    basePath: opt('base-path'),
    maxStorage: opt('max-storage') === undefined ? undefined : parseSize(opt('max-storage') as string),
    authority,
    signer: authority,
    // Without a host key the server would store sectors for any contract its Negotiator knows of.
    hostKey: opt('host-key') ?? (await authority.hostKey(HOST_KEY_WAIT_MS)),
    rateLimit: { perSecond: rate, burst: 2 * rate },
    cache: { ttlMs: cacheTtlMs },
    logFormat,
  });
  const stop = () => {
    void server.close().then(() => process.exit(ExitCode.ok));
  };
  // Whoever reads the ready line may signal at once: the graceful stop must be in place before it.
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  const hello = logFormat === 'json' ? JSON.stringify({ event: 'listening', url: server.url }) : `cloudcoin-serve listening on ${server.url}`;
  process.stdout.write(`${hello}\n`);
} catch (err) {
  process.stderr.write(`cloudcoin-serve: ${(err as Error).message}\n`);
  process.exit(isCloudCoinError(err) ? err.exitCode : err instanceof RangeError || err instanceof TypeError ? ExitCode.usage : ExitCode.failure);
}
