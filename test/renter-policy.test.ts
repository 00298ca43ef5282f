import test from 'ava';
import { writeFileConfig } from '../src/lib/config/settings.js';
import { DEFAULT_RENTER_POLICY, daemonRenterPolicy, parseRenterPolicy, renterPolicyOf } from '../src/lib/config/renter-policy.js';
import { CloudCoinError } from '../src/lib/errors.js';
import { tempDir } from './util/devnode.js';

test('no "renter" object is every default; given fields replace their defaults only', (t) => {
  t.deepEqual(parseRenterPolicy(undefined), { ...DEFAULT_RENTER_POLICY });
  const p = parseRenterPolicy({ k: 3, n: 6, hosts: 8, duration: 40, renewWindow: 15, minReputation: 2.5, auto: false });
  t.deepEqual(p, { ...DEFAULT_RENTER_POLICY, k: 3, n: 6, hosts: 8, duration: 40, renewWindow: 15, minReputation: 2.5, auto: false });
  t.not(parseRenterPolicy(undefined), parseRenterPolicy(undefined), 'each call gets its own object');
});

test('a bad field is a usage error (exit 2) naming the field', (t) => {
  const bad: [unknown, RegExp][] = [
    [[], /"renter" must be an object/],
    [{ hots: 6 }, /unknown renter policy field "hots"/],
    [{ k: 1.5 }, /renter\.k must be a whole number/],
    [{ allowance: -1 }, /renter\.allowance must be a whole number/],
    [{ maxPrice: '100' }, /renter\.maxPrice must be a whole number/],
    [{ minReputation: -0.5 }, /renter\.minReputation must be a number >= 0/],
    [{ auto: 'yes' }, /renter\.auto must be true or false/],
    [{ k: 5, n: 4 }, /renter\.k must be 1\.\.n/],
    [{ k: 0 }, /renter\.k must be 1\.\.n/],
    [{ n: 256, k: 2 }, /renter\.n must be at most 255/],
    [{ duration: 0 }, /renter\.duration and renter\.contractSize must be at least 1/],
    [{ duration: 40, renewWindow: 40 }, /renter\.renewWindow \(40\) must be less than renter\.duration \(40\)/],
  ];
  for (const [value, message] of bad) {
    const err = t.throws(() => parseRenterPolicy(value, 'my.json'), { instanceOf: CloudCoinError, message }, JSON.stringify(value));
    t.is(err?.exitCode, 2);
    t.regex(err?.message ?? '', /^my\.json: /);
  }
});

test('the daemon acts only on a policy written in config.json, and not when it says auto: false; flags override the file', (t) => {
  const dir = tempDir(t);
  t.is(daemonRenterPolicy(dir), null, 'no config.json');
  writeFileConfig(dir, { network: 'dev' });
  t.is(daemonRenterPolicy(dir), null, 'no "renter" key');
  t.deepEqual(renterPolicyOf(dir), { ...DEFAULT_RENTER_POLICY });
  writeFileConfig(dir, { network: 'dev', renter: { hosts: 3, duration: 40, renewWindow: 15 } });
  t.deepEqual(daemonRenterPolicy(dir), { ...DEFAULT_RENTER_POLICY, hosts: 3, duration: 40, renewWindow: 15 });
  t.deepEqual(renterPolicyOf(dir, { hosts: 5, maxPrice: undefined }), { ...DEFAULT_RENTER_POLICY, hosts: 5, duration: 40, renewWindow: 15 });
  writeFileConfig(dir, { network: 'dev', renter: { auto: false } });
  t.is(daemonRenterPolicy(dir), null);
  writeFileConfig(dir, { network: 'dev', renter: { k: 9 } });
  t.throws(() => daemonRenterPolicy(dir), { instanceOf: CloudCoinError, message: /config\.json: renter\.k must be 1\.\.n/ });
});
