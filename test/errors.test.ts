import test from 'ava';
import { CloudCoinError, ExitCode, interruptedError } from '../src/lib/errors.js';

test('a CloudCoinError carries its code and exit code', (t) => {
  const err = new CloudCoinError('ENODE', 'node is not running', ExitCode.nodeNotRunning);
  t.is(err.code, 'ENODE');
  t.is(err.exitCode, 3);
  t.is(err.message, 'node is not running');
});

test('interruptedError: a CloudCoinError reason gives the message\'s start, the code and the exit code; any other reason is "interrupted", exit 130', (t) => {
  const term = new AbortController();
  term.abort(new CloudCoinError('EINTERRUPTED', 'interrupted (SIGTERM)', ExitCode.terminated));
  const a = interruptedError(term.signal, '3 of 7 files restored');
  t.deepEqual([a.code, a.message, a.exitCode], ['EINTERRUPTED', 'interrupted (SIGTERM): 3 of 7 files restored', 143]);
  const plain = new AbortController();
  plain.abort();
  const b = interruptedError(plain.signal, 'nothing was done');
  t.deepEqual([b.code, b.message, b.exitCode], ['EINTERRUPTED', 'interrupted: nothing was done', 130]);
});
