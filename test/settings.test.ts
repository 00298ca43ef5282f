import test from 'ava';
import { join } from 'node:path';
import { homedir } from 'node:os';
import { resolveLocation, writeFileConfig } from '../src/lib/config/settings.js';
import { CloudCoinError } from '../src/lib/errors.js';
import { tempDir } from './util/devnode.js';

test('flags win over the environment, the environment over config.json, config.json over defaults', (t) => {
  const dir = tempDir(t);
  t.deepEqual(resolveLocation({}, {}).datadir, join(homedir(), '.cloudcoin', 'main'));
  t.is(resolveLocation({}, { CLOUDCOIN_NETWORK: 'test' }).datadir, join(homedir(), '.cloudcoin', 'test'));

  writeFileConfig(dir, { network: 'dev', port: 1234 });
  const fromConfig = resolveLocation({}, { CLOUDCOIN_DATADIR: dir });
  t.is(fromConfig.network, 'dev');
  t.is(fromConfig.config.port, 1234);
  t.is(resolveLocation({ datadir: dir }, { CLOUDCOIN_DATADIR: '/nonexistent' }).datadir, dir);

  const other = tempDir(t);
  t.is(resolveLocation({ datadir: other, network: 'test' }, { CLOUDCOIN_NETWORK: 'dev' }).network, 'test');
  t.is(resolveLocation({ datadir: other }, { CLOUDCOIN_NETWORK: 'dev' }).network, 'dev');
});

test('a data directory refuses another network, and bad values are usage errors', (t) => {
  const dir = tempDir(t);
  writeFileConfig(dir, { network: 'dev' });
  const mismatch = t.throws(() => resolveLocation({ datadir: dir, network: 'main' }, {}), { instanceOf: CloudCoinError });
  t.is(mismatch?.exitCode, 2);
  t.throws(() => resolveLocation({ network: 'bitcoin' }, {}), { message: /unknown network "bitcoin"/ });
});
