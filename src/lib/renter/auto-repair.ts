/**
 * The renter's daemon repairing the store on its own: every round it runs
 * `cloudcoin store repair --json` on its data directory as a child process,
 * the same command a user runs, so the daemon never holds the store key or
 * the engine in its own memory. It needs the store passphrase for that
 * (CLOUDCOIN_PASSPHRASE, or `node start --store-passphrase-file`); without
 * one it says once that repair needs it. A round is skipped while another
 * store command holds the store's lock (exit 7), and while the data
 * directory has no store key. See docs/store.md, "Repair".
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseRenterPolicy } from '../config/renter-policy.js';
import { readFileConfig } from '../config/settings.js';
import { ExitCode } from '../errors.js';
import { storePaths } from '../store/paths.js';

/** Rounds come every repairAfter / 4 (a host given up on is repaired within 1.25 x repairAfter), within these bounds. */
const _MIN_EVERY_MS = 10_000;
const _MAX_EVERY_MS = 600_000;

export interface AutoRepairOptions {
  datadir: string;
  /** bin/run.js of this installation. */
  bin: string;
  /** The store passphrase; undefined: no repair, said once. */
  passphrase: string | undefined;
  log(message: string): void;
}

/** How one round ended, for the log. */
export type RoundOutcome = 'no-key' | 'busy' | 'healthy' | 'below' | 'failed' | 'wrong-passphrase';

export class AutoRepair {
  private readonly _o: AutoRepairOptions;
  private _timer: NodeJS.Timeout | null = null;
  private _round: Promise<RoundOutcome> | null = null;
  private _stopped = false;

  private constructor(o: AutoRepairOptions) {
    this._o = o;
  }

  /**
   * Starts the rounds, the first one interval after now; null, having logged
   * why, when there is no passphrase or the renter policy turns it off.
   */
  static start(o: AutoRepairOptions): AutoRepair | null {
    const policy = parseRenterPolicy(readFileConfig(o.datadir).renter);
    if (!policy.auto) return null;
    if (!o.passphrase) {
      // A node with no store is no renter: nothing to say.
      if (existsSync(storePaths(o.datadir).key)) o.log('store repair: not run by the node, which has no store passphrase (CLOUDCOIN_PASSPHRASE or node start --store-passphrase-file)');
      return null;
    }
    const r = new AutoRepair(o);
    r._schedule(Math.min(_MAX_EVERY_MS, Math.max(_MIN_EVERY_MS, (policy.repairAfter * 1000) / 4)));
    return r;
  }

  private _schedule(everyMs: number): void {
    if (this._stopped) return;
    this._timer = setTimeout(async () => {
      this._round = this.round();
      const outcome = await this._round;
      this._round = null;
      // Every later round would fail the same way, and say so in the log each time.
      if (outcome !== 'wrong-passphrase') this._schedule(everyMs);
    }, everyMs);
    this._timer.unref();
  }

  /** One `store repair`, logged. */
  async round(): Promise<RoundOutcome> {
    if (!existsSync(storePaths(this._o.datadir).key)) return 'no-key';
    const { code, stdout, stderr } = await this._run();
    if (code === ExitCode.conflict) {
      this._o.log('store repair: skipped, another store command holds the store');
      return 'busy';
    }
    if (code === ExitCode.auth) {
      this._o.log('store repair: the node\'s passphrase does not open the store key; no more repairs until the node is started with the right one (--store-passphrase-file)');
      return 'wrong-passphrase';
    }
    let r: any = null;
    try {
      r = JSON.parse(stdout);
    } catch {
      // Not JSON: the error line on stderr says what happened.
    }
    if ((code === 0 || code === ExitCode.partial) && r && !r.error) {
      if (r.repaired > 0 || r.belowN.length > 0) {
        this._o.log(`store repair: ${r.repaired} of ${r.sectors} sectors repaired (${r.shards} shards, ${r.bytes} bytes); ${r.belowN.length} still below full redundancy`);
      }
      return code === 0 ? 'healthy' : 'below';
    }
    this._o.log(`store repair: exit ${code}: ${r?.error?.message ?? stderr.trim().split('\n').at(-1) ?? ''}`);
    return 'failed';
  }

  private _run(): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [this._o.bin, 'store', 'repair', '--json', '--datadir', this._o.datadir], {
        env: { ...process.env, CLOUDCOIN_PASSPHRASE: this._o.passphrase },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', (err) => resolve({ code: ExitCode.failure, stdout, stderr: err.message }));
      child.on('close', (code) => resolve({ code: code ?? ExitCode.failure, stdout, stderr }));
    });
  }

  /** No more rounds; waits for one under way (a repair stopped half way keeps what it recorded anyway). */
  async stop(): Promise<void> {
    this._stopped = true;
    if (this._timer) clearTimeout(this._timer);
    await this._round;
  }
}
