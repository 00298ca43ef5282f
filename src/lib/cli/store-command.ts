/**
 * The base of the `store` commands that open the store: the global flags and
 * `--retry-lock`, which each of them takes because each takes the lock.
 */
import { Flags } from '@oclif/core';
import { parseWait } from '../units.js';
import { BaseCommand } from './base.js';
import type { StoreWhere } from './store.js';

export abstract class StoreCommand extends BaseCommand {
  static baseFlags = {
    ...BaseCommand.baseFlags,
    'retry-lock': Flags.string({
      summary: 'Wait this long (30s, 5m, 1h) for the store lock another store command or the node\'s repair holds, rather than exit 7 at once.',
      env: 'CLOUDCOIN_RETRY_LOCK',
      helpGroup: 'GLOBAL',
    }),
  };

  protected storeAt(flags: { datadir?: string; network?: string; 'retry-lock'?: string }): StoreWhere {
    const wait = flags['retry-lock'];
    return { datadir: this.location(flags).datadir, retryLockMs: wait === undefined ? 0 : parseWait(wait) * 1000 };
  }
}
