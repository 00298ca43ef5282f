/**
 * The node side of the extension interface: one ExtensionHost per daemon
 * dispatches `cc*` P2P messages to the extension that registered them, mounts
 * extension routes under `/ext/<id>/`, and owns the extensions' databases.
 *
 * Whatever a peer sends, the daemon survives it: payloads are size-checked
 * before any handler runs, and a handler's exception is contained here and
 * turned into ban score (MisbehaviorError) or a log line (anything else).
 */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { Level } from 'level';
import type { BcoinFullNode, BcoinPeer } from '../chain/bcoin.js';
import { HttpError } from '../errors.js';
import { BanScore } from '../net/errors.js';
import { MisbehaviorError, type HttpMethod, type MessageHandler, type MessageOptions, type RouteHandler } from './types.js';

/** Bitcoin's limit for a command name, which bcoin enforces on the wire. */
const MAX_COMMAND_LENGTH = 12;
const COMMAND_PATTERN = /^cc[a-z0-9]{1,10}$/;
const ID_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

interface Registration {
  extension: string;
  handler: MessageHandler;
  maxSize: number;
}

const hosts = new WeakMap<object, ExtensionHost>();

export class ExtensionHost {
  readonly node: BcoinFullNode;
  readonly datadir: string;
  private readonly handlers = new Map<string, Registration>();
  private readonly dbs = new Map<string, Level<string, Buffer>>();
  private readonly loaded: string[] = [];
  /** Set by the daemon when it was started with the wallet passphrase; see WalletFunder. */
  walletPassphrase: string | undefined;

  private constructor(node: BcoinFullNode, datadir: string) {
    this.node = node;
    this.datadir = datadir;
    node.pool.on('packet', (packet: { cmd: string; data?: Buffer }, peer: BcoinPeer) => {
      if (typeof packet.cmd === 'string' && packet.cmd.startsWith('cc')) void this.dispatch(packet.cmd, packet.data ?? Buffer.alloc(0), peer);
    });
    node.http.get('/ext', (_req: unknown, res: any) => res.json(200, { extensions: [...this.loaded] }));
  }

  /** Makes `node` able to carry extensions; call once, before any extension is added. */
  static attach(node: BcoinFullNode, datadir: string): ExtensionHost {
    if (hosts.has(node)) throw new Error('an extension host is already attached to this node');
    const host = new ExtensionHost(node, datadir);
    hosts.set(node, host);
    return host;
  }

  static of(node: BcoinFullNode): ExtensionHost {
    const host = hosts.get(node);
    if (!host) throw new Error('this node was not started by the CloudCoin daemon: no extension host is attached');
    return host;
  }

  static checkId(id: string): void {
    if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
      throw new TypeError(`extension id must match ${ID_PATTERN}, got ${JSON.stringify(id)}`);
    }
  }

  markLoaded(id: string): void {
    this.loaded.push(id);
  }

  get extensions(): readonly string[] {
    return this.loaded;
  }

  registerMessage(extension: string, cmd: string, options: MessageOptions, handler: MessageHandler): void {
    if (!COMMAND_PATTERN.test(cmd) || cmd.length > MAX_COMMAND_LENGTH) {
      throw new TypeError(`message command must match ${COMMAND_PATTERN} (at most ${MAX_COMMAND_LENGTH} characters), got ${JSON.stringify(cmd)}`);
    }
    if (!Number.isInteger(options.maxSize) || options.maxSize < 0) throw new RangeError('maxSize must be a non-negative integer');
    const taken = this.handlers.get(cmd);
    if (taken) throw new Error(`message ${cmd} is already registered by extension ${taken.extension}`);
    this.handlers.set(cmd, { extension, handler, maxSize: options.maxSize });
  }

  route(extension: string, method: HttpMethod, path: string, handler: RouteHandler): void {
    if (!path.startsWith('/')) throw new TypeError('route path must start with /');
    const full = `/ext/${extension}${path === '/' ? '' : path}`;
    this.node.http[method](full, async (req: any, res: any) => {
      try {
        const answer = await handler({
          params: req.params ?? {},
          query: req.query ?? {},
          body: req.body,
          method: req.method,
          path: req.pathname,
        });
        res.json(answer.status ?? 200, answer.body);
      } catch (err) {
        if (err instanceof HttpError) {
          for (const [name, value] of Object.entries(err.headers)) res.setHeader(name, value);
          res.json(err.status, { error: { code: err.code, message: err.message } });
        } else {
          this.node.logger.error(`extension ${extension} route ${full}: ${(err as Error).stack}`);
          res.json(500, { error: { code: 'EINTERNAL', message: 'internal error' } });
        }
      }
    });
  }

  db(extension: string): Level<string, Buffer> {
    let db = this.dbs.get(extension);
    if (!db) {
      const dir = join(this.datadir, 'ext', extension);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      db = new Level<string, Buffer>(dir, { valueEncoding: 'buffer' });
      this.dbs.set(extension, db);
    }
    return db;
  }

  send(peer: BcoinPeer, cmd: string, payload: Uint8Array): void {
    if (peer.destroyed) return;
    peer.sendRaw(cmd, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
  }

  /** Every connected peer that finished its handshake. */
  peers(): BcoinPeer[] {
    const out: BcoinPeer[] = [];
    for (let peer = this.node.pool.peers.head(); peer; peer = peer.next) if (peer.handshake) out.push(peer);
    return out;
  }

  /** Sends to every connected peer that finished its handshake, except `except`. */
  broadcast(cmd: string, payload: Uint8Array, except?: BcoinPeer): number {
    let sent = 0;
    for (const peer of this.peers()) {
      if (peer === except) continue;
      this.send(peer, cmd, payload);
      sent++;
    }
    return sent;
  }

  penalize(peer: BcoinPeer, score: number, reason: string): void {
    this.node.logger.info(`penalizing peer ${peer.hostname()} by ${score}: ${reason}`);
    if (score > 0) peer.increaseBan(score);
  }

  private async dispatch(cmd: string, payload: Buffer, peer: BcoinPeer): Promise<void> {
    const reg = this.handlers.get(cmd);
    if (!reg) return;
    if (payload.length > reg.maxSize) {
      // The same fault as the library's decode-time `oversize`, so the same score: docs/protocol.md §3.2.
      this.penalize(peer, BanScore.oversize, `${cmd} of ${payload.length} bytes exceeds ${reg.maxSize}`);
      return;
    }
    try {
      await reg.handler(peer, payload);
    } catch (err) {
      if (err instanceof MisbehaviorError) this.penalize(peer, err.score, `${cmd}: ${err.message}`);
      else this.node.logger.error(`extension ${reg.extension} failed on ${cmd}: ${(err as Error).stack}`);
    }
  }

  async close(): Promise<void> {
    for (const db of this.dbs.values()) await db.close();
    this.dbs.clear();
  }
}
