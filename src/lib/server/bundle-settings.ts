/**
 * The single-file server's settings, from three places, as web hosts set
 * them: flags on the command line win, then the environment
 * (`CLOUDCOIN_SERVE_<NAME>`, e.g. CLOUDCOIN_SERVE_MAX_STORAGE for
 * --max-storage: what Passenger's SetEnv/PassengerEnvVar and cPanel's
 * "environment variables" set), then a JSON file of the same names
 * (`{ "storage": "/home/u/cc", "max-storage": "50G" }`) named by --config or
 * CLOUDCOIN_SERVE_CONFIG, then the defaults. Passenger starts the app with
 * no arguments of its own, which is why the other two exist. The API key may
 * also come from CLOUDCOIN_API_KEY, and the path prefix from
 * PASSENGER_BASE_URI, which Passenger sets to the app's base URI.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

export interface BundleOption {
  /** A string value, or a flag (true when given). */
  type: 'string' | 'boolean';
  default?: string;
}

export type BundleValues = Record<string, string | boolean | undefined>;

/** CLOUDCOIN_SERVE_MAX_STORAGE for max-storage. */
export function envName(option: string): string {
  return `CLOUDCOIN_SERVE_${option.toUpperCase().replace(/-/g, '_')}`;
}

/** Other names an option is read from, after its own variable. */
const _ALIASES: Record<string, string[]> = { 'api-key': ['CLOUDCOIN_API_KEY'], 'base-path': ['PASSENGER_BASE_URI'] };

/**
 * Resolves every option of `spec` (plus `config` and `help`). Throws an Error
 * with a one-line message on an unknown flag, an unreadable config file or a
 * key in it that is not an option.
 */
export function resolveBundleSettings(spec: Record<string, BundleOption>, argv: string[], env: NodeJS.ProcessEnv): BundleValues {
  const options = Object.fromEntries(Object.entries(spec).map(([name, o]) => [name, { type: o.type }]));
  const values = parseArgs({ args: argv, options: { ...options, config: { type: 'string' }, help: { type: 'boolean' } } }).values as BundleValues;
  const configPath = (values.config as string | undefined) ?? env.CLOUDCOIN_SERVE_CONFIG;
  const file = configPath === undefined ? {} : _readConfig(configPath, spec);
  const out: BundleValues = { help: values.help };
  for (const [name, o] of Object.entries(spec)) {
    const fromEnv = [envName(name), ...(_ALIASES[name] ?? [])].map((v) => env[v]).find((v) => v !== undefined && v !== '');
    const raw = values[name] ?? fromEnv ?? file[name] ?? o.default;
    out[name] = o.type === 'boolean' && typeof raw === 'string' ? _bool(raw, name) : raw;
  }
  return out;
}

function _bool(text: string, name: string): boolean {
  if (/^(1|true|yes)$/i.test(text)) return true;
  if (/^(0|false|no)$/i.test(text)) return false;
  throw new Error(`${name} must be true or false, got ${JSON.stringify(text)}`);
}

function _readConfig(path: string, spec: Record<string, BundleOption>): Record<string, string | boolean> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err: any) {
    throw new Error(`config ${path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`config ${path}: must hold a JSON object`);
  const out: Record<string, string | boolean> = {};
  for (const [key, value] of Object.entries(parsed)) {
    const o = spec[key];
    if (!o) throw new Error(`config ${path}: unknown setting "${key}" (known: ${Object.keys(spec).join(', ')})`);
    if (o.type === 'boolean' ? typeof value !== 'boolean' : typeof value !== 'string' && typeof value !== 'number') {
      throw new Error(`config ${path}: "${key}" must be ${o.type === 'boolean' ? 'true or false' : 'a string'}`);
    }
    out[key] = typeof value === 'number' ? String(value) : value;
  }
  return out;
}
