/**
 * One rule for sizes (src/lib/units.ts): `KB MB GB TB` powers of 1000,
 * `KiB MiB GiB TiB` and a bare `K M G T` powers of 1024. The parser against a
 * table, then each command that takes a size run for real, so a command that
 * parsed with a rule of its own would fail here.
 */
import test from 'ava';
import { CloudCoinError } from '../src/lib/errors.js';
import { formatSize, parseDuration, parseSize, parseValidity } from '../src/lib/units.js';
import { cli } from './util/cli.js';
import { devNode, tempDir, waitFor } from './util/devnode.js';
import { serveProcess } from './util/serve.js';

const MB = 500 * 10 ** 6;
const MIB = 500 * 2 ** 20;

test('sizes: decimal units are powers of 1000; binary and bare ones powers of 1024; any case; decimals', (t) => {
  const table: [string, number][] = [
    ['500MB', MB], ['500mb', MB], ['500 MB', MB], ['500M', MIB], ['500m', MIB], ['500MiB', MIB], ['500mib', MIB],
    ['1KB', 1000], ['1kB', 1000], ['1K', 1024], ['1k', 1024], ['1KiB', 1024],
    ['2GB', 2e9], ['2G', 2 * 2 ** 30], ['1.5GiB', 1.5 * 2 ** 30], ['2t', 2 * 2 ** 40], ['1TB', 1e12], ['1.5TiB', 1.5 * 2 ** 40],
    ['4096', 4096], ['4096B', 4096], ['4096b', 4096], ['1.5K', 1536], ['0.5KB', 500], ['1.0001K', 1024],
  ];
  for (const [text, bytes] of table) t.is(parseSize(text), bytes, text);
});

test('sizes that are not sizes are usage errors naming the text', (t) => {
  for (const bad of ['lots', '', 'MB', '5XB', '5 M B', '-1M', '1e3', '0', '0.1B', '5PB', '1,5G', '99999999999TiB']) {
    const err = t.throws(() => parseSize(bad), { instanceOf: CloudCoinError }, bad);
    t.is(err!.code, 'EUSAGE', bad);
    t.is(err!.exitCode, 2, bad);
    t.true(err!.message.includes(`"${bad}"`), `${bad}: ${err!.message}`);
  }
});

test('durations are blocks (144 a day); validity is seconds', (t) => {
  t.is(parseDuration('30d'), 4320);
  t.is(parseDuration('3mo'), 3 * 4320);
  t.is(parseDuration('12h'), 72);
  t.is(parseDuration('2w'), 2016);
  t.is(parseDuration('40'), 40);
  t.is(parseValidity('7d'), 604_800);
  t.is(parseValidity('30m'), 1800);
  t.is(parseValidity('3600'), 3600);
  t.throws(() => parseDuration('30x'), { instanceOf: CloudCoinError, message: /duration "30x"/ });
  t.throws(() => parseValidity('7mo'), { instanceOf: CloudCoinError, message: /validity "7mo"/ });
});

test('formatSize: the largest binary unit, one decimal unless whole', (t) => {
  t.is(formatSize(0), '0 B');
  t.is(formatSize(1023), '1023 B');
  t.is(formatSize(1024), '1 KiB');
  t.is(formatSize(1536), '1.5 KiB');
  t.is(formatSize(MIB), '500 MiB');
  t.is(formatSize(MB), '476.8 MiB');
  t.is(formatSize(10 * 2 ** 30), '10 GiB');
  t.is(formatSize(3 * 2 ** 40), '3 TiB');
  t.is(formatSize(5000 * 2 ** 40), '5000 TiB');
});

test('serve --max-storage reads 500MB and 500M by the one rule; a bad size exits 2', async (t) => {
  // A host key given on the command line: the server then needs no Negotiator to start.
  const remote = ['--negotiator', 'http://127.0.0.1:1', '--api-key', 'unused', '--host-key', '02'.padEnd(66, '1'), '--log-format', 'none', '--storage'];
  const limit = async (size: string, storage: string) => {
    const server = await serveProcess(t, [...remote, storage, '--max-storage', size]);
    const status = (await (await fetch(`${server.url}/`, { headers: { accept: 'application/json' } })).json()) as { maxStorageBytes: number };
    t.is(await server.stop(), 0);
    return status.maxStorageBytes;
  };
  const dir = tempDir(t);
  t.is(await limit('500MB', `${dir}/a`), MB);
  t.is(await limit('500M', `${dir}/b`), MIB);
  const bad = await cli(['serve', ...remote, `${dir}/c`, '--max-storage', '500XB', '--datadir', dir, '--network', 'dev']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /size "500XB" is not valid/);
});

test('contract offer and contract accept read sizes by the one rule', async (t) => {
  const host = await devNode(t);
  const renter = await devNode(t, { peers: [host] });
  const offer = await host.run(['contract', 'offer', '--price', '0.001', '--collateral', '0.002', '--url', 'http://127.0.0.1:9',
    '--min-size', '500MB', '--max-size', '500MiB', '--capacity', '2G']);
  t.is(offer.code, 0, offer.stderr);
  t.is(offer.json.offer.minSize, MB);
  t.is(offer.json.offer.maxSize, MIB);
  t.is(offer.json.host.capacity, 2 * 2 ** 30);

  const hash = offer.json.offer.hash;
  await waitFor(async () => (await renter.run(['contract', 'offers'])).json?.offers?.some((o: any) => o.hash === hash), 30_000, 'the offer to reach the renter');
  // Sizes too small for an escrow output are refused at once, and the refusal names the bytes asked for.
  const decimal = await renter.run(['contract', 'accept', hash, '--size', '1KB', '--duration', '1']);
  t.is(decimal.code, 2, decimal.stderr);
  t.regex(decimal.stderr, /too small: 1000 bytes/);
  const binary = await renter.run(['contract', 'accept', hash, '--size', '1K', '--duration', '1']);
  t.is(binary.code, 2, binary.stderr);
  t.regex(binary.stderr, /too small: 1024 bytes/);
  const bad = await renter.run(['contract', 'accept', hash, '--size', '1 KB B', '--duration', '1']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /size "1 KB B" is not valid/);
});
