/**
 * A live devnet for end-to-end tests: `cloudcoin devnet up` (every node its
 * own process, each host with its file server), stopped by `devnet down` in
 * the test's teardown even when the test fails. Blocks are mined with
 * `cloudcoin node mine` to an address no wallet of the devnet holds, so
 * every wallet balance moves only by what the contracts do.
 */
import type { ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bcoin } from '../../src/lib/chain/bcoin.js';
import { getNetwork } from '../../src/lib/chain/networks.js';
import type { Participant } from '../../src/lib/devnet/participant.js';
import { stopServer } from '../../src/lib/devnet/server-process.js';
import { NodeClient } from '../../src/lib/node/node-client.js';
import { cli, cliOk } from './cli.js';
import { waitFor } from './devnode.js';

/** A dev address of a key nobody holds: coinbase paid there leaves every devnet wallet alone. */
export function nobodysAddress(): string {
  return bcoin.Address.fromWitnessPubkeyhash(randomBytes(20)).toString(getNetwork('dev'));
}

export class LiveDevnet {
  /** Where mined blocks are paid. */
  readonly sink = nobodysAddress();

  private constructor(readonly dir: string, readonly participants: Participant[]) {}

  /** `devnet up --hosts <hosts>` in a temporary directory, brought down (and removed) in t's teardown. */
  static async up(t: ExecutionContext, hosts: number): Promise<LiveDevnet> {
    const dir = mkdtempSync(join(tmpdir(), 'cc-fulfil-'));
    t.teardown(async () => {
      await cli(['devnet', 'down', '--dir', join(dir, 'devnet')]);
      rmSync(dir, { recursive: true, force: true });
    });
    const up = await cli(['devnet', 'up', '--hosts', String(hosts), '--dir', join(dir, 'devnet'), '--json'], { timeoutMs: 180_000 });
    if (up.code !== 0) throw new Error(`devnet up: ${up.stderr}`);
    return new LiveDevnet(dir, up.json.participants);
  }

  get(name: string): Participant {
    const p = this.participants.find((x) => x.name === name);
    if (!p) throw new Error(`no ${name} in the devnet`);
    return p;
  }

  client(p: Participant): NodeClient {
    return NodeClient.connect(p.datadir);
  }

  /** Runs `cloudcoin <args> --datadir <p's> --json`; fails with the CLI's error when it exits non-zero. */
  async run(p: Participant, args: string[]): Promise<any> {
    return (await cliOk([...args, '--datadir', p.datadir, '--json'])).json;
  }

  /** `node stop` of p's node, and its file server stopped. */
  async stop(p: Participant): Promise<void> {
    await cliOk(['node', 'stop', '--datadir', p.datadir]);
    await stopServer(p.datadir);
  }

  /** p's node started again on its ports (`node start --detach`), dialling the renter's node; its file server stays down. */
  async restart(p: Participant): Promise<void> {
    await cliOk([
      'node', 'start', '--detach', '--network', 'dev', '--datadir', p.datadir,
      '--port', String(p.port), '--http-port', String(p.httpPort), '--wallet-port', String(p.walletPort), '--peers', `127.0.0.1:${this.get('renter').port}`,
    ]);
  }

  async height(p: Participant): Promise<number> {
    return (await this.client(p).node('GET', '/')).chain.height;
  }

  /** `node mine <count>` on `miner`, then waits until every node in `watching` has the new tip. */
  async mine(miner: Participant, count: number, watching: Participant[]): Promise<number> {
    const { blocks } = await this.run(miner, ['node', 'mine', String(count), '--address', this.sink]);
    const tip = blocks.at(-1) as string;
    await this.synced(watching, tip);
    return this.height(miner);
  }

  /** Waits until every node in `nodes` has `tip` (or the same tip as the first) as its tip, and its Negotiator has indexed it. */
  async synced(nodes: Participant[], tip?: string): Promise<void> {
    await waitFor(async () => {
      const tips = await Promise.all(nodes.map(async (p) => (await this.client(p).node('GET', '/ext/negotiator/registry')).tip?.hash as string | undefined));
      const want = tip ?? tips[0];
      return want !== undefined && tips.every((x) => x === want);
    }, 60_000, `${nodes.map((p) => p.name).join(', ')} at one tip`, 100);
  }

  /**
   * Mines one block at a time on `miner` until `done` holds, giving the
   * daemons up to `settleMs` after each block to act on it (a daemon slower
   * than that only costs a block more); fails after `maxBlocks` blocks.
   */
  async mineUntil(what: string, miner: Participant, watching: Participant[], done: () => Promise<boolean>, maxBlocks = 10, settleMs = 4_000): Promise<void> {
    for (let mined = 0; ; mined++) {
      const ok = await waitFor(done, settleMs, what, 150).catch(() => false);
      if (ok) return;
      if (mined >= maxBlocks) throw new Error(`${what}: not after ${maxBlocks} blocks`);
      await this.mine(miner, 1, watching);
    }
  }
}
