/**
 * The single-file server's settings from flags, environment and a JSON file
 * (bundle-settings.ts), and the base path it answers under.
 */
import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BundleOption, envName, resolveBundleSettings } from '../src/lib/server/bundle-settings.js';
import { inProcessServer } from './util/serve.js';

const SPEC: Record<string, BundleOption> = {
  storage: { type: 'string' },
  'max-storage': { type: 'string' },
  'base-path': { type: 'string' },
  'api-key': { type: 'string' },
  port: { type: 'string', default: '48480' },
  verbose: { type: 'boolean' },
};

async function configFile(t: import('ava').ExecutionContext, content: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cc-bundle-settings-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'cloudcoin-serve.json'), content);
  return join(dir, 'cloudcoin-serve.json');
}

test('envName: CLOUDCOIN_SERVE_ and the option in capitals, dashes as underscores', (t) => {
  t.is(envName('max-storage'), 'CLOUDCOIN_SERVE_MAX_STORAGE');
});

test('flags win over the environment, the environment over the file, the file over defaults', async (t) => {
  const config = await configFile(t, JSON.stringify({ storage: '/file', 'max-storage': '1G', port: 9000, verbose: true }));
  const env = { CLOUDCOIN_SERVE_CONFIG: config, CLOUDCOIN_SERVE_STORAGE: '/env', CLOUDCOIN_SERVE_MAX_STORAGE: '2G' };
  const v = resolveBundleSettings(SPEC, ['--max-storage', '3G'], env);
  t.deepEqual([v.storage, v['max-storage'], v.port, v.verbose], ['/env', '3G', '9000', true]);
  t.is(resolveBundleSettings(SPEC, [], {}).port, '48480');
});

test('--config names the file; CLOUDCOIN_API_KEY and PASSENGER_BASE_URI are read after their own variables', async (t) => {
  const config = await configFile(t, JSON.stringify({ storage: '/srv/cc' }));
  const v = resolveBundleSettings(SPEC, ['--config', config], { CLOUDCOIN_API_KEY: 'k', PASSENGER_BASE_URI: '/cc' });
  t.deepEqual([v.storage, v['api-key'], v['base-path']], ['/srv/cc', 'k', '/cc']);
  t.is(resolveBundleSettings(SPEC, [], { CLOUDCOIN_SERVE_BASE_PATH: '/own', PASSENGER_BASE_URI: '/cc' })['base-path'], '/own');
  t.is(resolveBundleSettings(SPEC, [], { CLOUDCOIN_SERVE_VERBOSE: 'yes' }).verbose, true);
});

test('bad settings are one-line errors naming the place', async (t) => {
  t.throws(() => resolveBundleSettings(SPEC, ['--nope'], {}), { message: /Unknown option '--nope'/ });
  t.throws(() => resolveBundleSettings(SPEC, [], { CLOUDCOIN_SERVE_CONFIG: '/no/such.json' }), { message: 'config /no/such.json: no such file' });
  const unknown = await configFile(t, JSON.stringify({ storag: '/x' }));
  t.throws(() => resolveBundleSettings(SPEC, ['--config', unknown], {}), { message: new RegExp(`^config ${unknown}: unknown setting "storag" \\(known: storage, `) });
  const wrongType = await configFile(t, JSON.stringify({ verbose: 'sure' }));
  t.throws(() => resolveBundleSettings(SPEC, ['--config', wrongType], {}), { message: `config ${wrongType}: "verbose" must be true or false` });
  const notJson = await configFile(t, '{ storage: ');
  t.throws(() => resolveBundleSettings(SPEC, ['--config', notJson], {}), { message: new RegExp(`^config ${notJson}: `) });
  t.throws(() => resolveBundleSettings(SPEC, [], { CLOUDCOIN_SERVE_VERBOSE: 'maybe' }), { message: 'verbose must be true or false, got "maybe"' });
});

test('basePath: the server answers under its prefix only, and the client keeps the prefix of its URL', async (t) => {
  const { server, addContract, clientFor } = await inProcessServer(t, { basePath: '/cc/' });
  t.regex(server.url, /^http:\/\/127\.0\.0\.1:\d+\/cc$/);
  const client = clientFor(addContract());
  const id = 'ab'.repeat(32);
  await client.put(id, Buffer.from('prefixed'));
  t.is(Buffer.from(await client.get(id)).toString(), 'prefixed');
  t.is((await client.status()).usedBytes, 8);
  const origin = server.url.slice(0, -'/cc'.length);
  t.is((await fetch(`${origin}/status`)).status, 404);
  t.is((await fetch(`${origin}/ccx/status`)).status, 404);
  await t.throwsAsync(inProcessServer(t, { basePath: 'cc' }), { instanceOf: RangeError, message: 'basePath must be a path such as /cloudcoin, got "cc"' });
});
