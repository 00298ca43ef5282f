import test from 'ava';
import { CloudCoinError, ExitCode } from '../src/lib/errors.js';

test('a CloudCoinError carries its code and exit code', (t) => {
  const err = new CloudCoinError('ENODE', 'node is not running', ExitCode.nodeNotRunning);
  t.is(err.code, 'ENODE');
  t.is(err.exitCode, 3);
  t.is(err.message, 'node is not running');
});
