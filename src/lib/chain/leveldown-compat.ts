/**
 * bcoin 1.0.2's database layer (bdb) was written for leveldown 4, which
 * ignored range options set to null. leveldown 6, which the install needs on
 * Node 20, reads `lt: null` as "less than the empty key": every range
 * iteration then yields nothing (wallet coins and history, chain and mempool
 * scans) while single reads keep working. bdb always sends all four range
 * options, so they are dropped here when null, before leveldown sees them.
 */
import { createRequire } from 'node:module';

const fromBdb = createRequire(createRequire(createRequire(import.meta.url).resolve('bcoin')).resolve('bdb'));
const LevelDOWN = fromBdb('leveldown');

const RANGE_OPTIONS = ['gt', 'gte', 'lt', 'lte'] as const;

if (!LevelDOWN.prototype.__cloudcoinRangeFix) {
  const iterator = LevelDOWN.prototype.iterator;
  LevelDOWN.prototype.iterator = function (options?: Record<string, unknown>) {
    if (options) {
      const clean = { ...options };
      for (const key of RANGE_OPTIONS) if (clean[key] == null) delete clean[key];
      return iterator.call(this, clean);
    }
    return iterator.call(this, options);
  };
  LevelDOWN.prototype.__cloudcoinRangeFix = true;
}
