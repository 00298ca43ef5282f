/**
 * Sectors on the plain file system.
 *
 *     <dir>/sectors/<contract id>/<first 2 hex of sector id>/<sector id>
 *     <dir>/sectors/<contract id>/<first 2 hex of sector id>/<sector id>.root
 *                                   its Merkle root, once computed (sector-roots.ts)
 *     <dir>/tmp/<random>.part       uploads in progress; emptied at every open
 *     <dir>/lock                    pid of the server using the directory (dir-lock.ts)
 *
 * A sector becomes visible only by rename(2) of a complete, fsynced temporary
 * file in the same file system, followed by an fsync of the directory, so after
 * a crash a sector is either wholly there or not there at all. The fan-out
 * level keeps directories small (a 1 TiB contract is 262144 sectors).
 *
 * Usage is counted per contract from what is on disk (scanned at open) plus
 * reservations for uploads in flight, so concurrent uploads cannot together
 * overrun a contract's size or the server's --max-storage.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { directWriteWorks, writeFileDirect } from '../fsutil/direct-io.js';
import { isDiskFull } from '../fsutil/write-all.js';
import { lockStorageDir } from './dir-lock.js';
import { checkId, isId } from './ids.js';
import { sectorBufferPool } from './sector-buffers.js';
import { SectorStoreError } from './sector-store-error.js';
import { checkSha, gather, writeBuffered } from './sector-write.js';

export interface SectorStoreOptions {
  /** Write sectors around the page cache (default: when the file system allows it; see direct-io.ts). */
  direct?: boolean;
}

/** link(2), false when the source is gone or the target exists. */
async function _linked(existing: string, target: string): Promise<boolean> {
  try {
    await link(existing, target);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EEXIST') return false;
    throw err;
  }
}

export { SectorStoreError, type SectorStoreErrorCode } from './sector-store-error.js';

export interface SectorInfo {
  id: string;
  size: number;
}

export interface PutResult {
  /** False when an existing sector with this id was replaced. */
  created: boolean;
  sha256: string;
}

interface ContractUsage {
  /** Bytes of complete sectors on disk. */
  used: number;
  /** Bytes promised to uploads in flight. */
  reserved: number;
}

async function _fsyncDir(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function _sizeOf(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export class SectorStore {
  private readonly usage = new Map<string, ContractUsage>();
  /** Sectors with a write or delete in progress: `<contract>/<sector>`. */
  private readonly busy = new Set<string>();
  private used = 0;
  private reserved = 0;
  /** Aligned memory uploads are gathered in for a direct write; a fifth at once streams instead. */
  private readonly _staging = sectorBufferPool();

  private constructor(
    readonly dir: string,
    readonly maxStorage: number,
    private readonly unlock: () => Promise<void>,
    /** Whether uploads are written with O_DIRECT. */
    readonly direct: boolean,
  ) {}

  /** Opens (creating if needed) and locks the store in `dir`, discarding uploads a crash left behind. */
  static async open(dir: string, maxStorage = Number.MAX_SAFE_INTEGER, options: SectorStoreOptions = {}): Promise<SectorStore> {
    if (typeof dir !== 'string' || dir.length === 0) throw new TypeError('storage dir must be a non-empty string');
    if (!Number.isSafeInteger(maxStorage) || maxStorage <= 0) throw new RangeError(`maxStorage must be a positive integer, got ${maxStorage}`);
    await mkdir(dir, { recursive: true });
    const unlock = await lockStorageDir(dir);
    try {
      await rm(join(dir, 'tmp'), { recursive: true, force: true });
      await mkdir(join(dir, 'tmp'), { recursive: true });
      await mkdir(join(dir, 'sectors'), { recursive: true });
      const store = new SectorStore(dir, maxStorage, unlock, options.direct ?? (await directWriteWorks(join(dir, 'tmp'))));
      await store._scan();
      return store;
    } catch (err) {
      await unlock();
      throw err;
    }
  }

  /** Releases the storage directory for another server; call once no request uses the store. */
  close(): Promise<void> {
    return this.unlock();
  }

  private async _scan(): Promise<void> {
    for (const contractId of await readdir(join(this.dir, 'sectors'))) {
      if (!isId(contractId)) continue;
      for (const { size } of await this.list(contractId)) {
        this._account(contractId).used += size;
        this.used += size;
      }
    }
  }

  private _account(contractId: string): ContractUsage {
    let u = this.usage.get(contractId);
    if (!u) this.usage.set(contractId, (u = { used: 0, reserved: 0 }));
    return u;
  }

  private _path(contractId: string, sectorId: string): string {
    checkId(contractId, 'contractId');
    checkId(sectorId, 'sectorId');
    return join(this.dir, 'sectors', contractId, sectorId.slice(0, 2), sectorId);
  }

  /** Where a sector's computed Merkle root is kept; removed with the sector. */
  rootPath(contractId: string, sectorId: string): string {
    return `${this._path(contractId, sectorId)}.root`;
  }

  /** A fresh name in the store's temporary directory, on the sectors' file system, for files made visible by rename. */
  tempPath(suffix: string): string {
    return join(this.dir, 'tmp', `${randomBytes(12).toString('hex')}${suffix}`);
  }

  private _lock(contractId: string, sectorId: string): () => void {
    const key = `${contractId}/${sectorId}`;
    if (this.busy.has(key)) throw new SectorStoreError('busy', 'another request is writing or deleting this sector');
    this.busy.add(key);
    return () => this.busy.delete(key);
  }

  /** Bytes used by complete sectors of a contract. */
  usedBy(contractId: string): number {
    return this.usage.get(contractId)?.used ?? 0;
  }

  stats(): { contracts: number; usedBytes: number; reservedBytes: number; maxStorage: number } {
    let contracts = 0;
    for (const u of this.usage.values()) if (u.used > 0) contracts++;
    return { contracts, usedBytes: this.used, reservedBytes: this.reserved, maxStorage: this.maxStorage };
  }

  /**
   * Stores `size` bytes from `body` as a sector, atomically. Refuses before
   * writing anything when the contract (`contractSize`) or the server would
   * overflow; refuses after reading when the body is short or its sha256 is
   * not `expectedSha256`. Nothing partial is ever visible.
   */
  async put(
    contractId: string,
    sectorId: string,
    body: AsyncIterable<Uint8Array>,
    size: number,
    contractSize: number,
    expectedSha256: string,
  ): Promise<PutResult> {
    const final = this._path(contractId, sectorId);
    const unlock = this._lock(contractId, sectorId);
    try {
      const existing = (await _sizeOf(final)) ?? 0;
      const u = this._account(contractId);
      if (u.used + u.reserved - existing + size > contractSize) {
        throw new SectorStoreError('over-contract', `contract has ${contractSize - u.used - u.reserved} bytes left, sector is ${size - existing} more`);
      }
      if (this.used + this.reserved - existing + size > this.maxStorage) throw new SectorStoreError('full', 'server storage limit reached');
      u.reserved += size;
      this.reserved += size;
      try {
        const sha256 = await this._write(final, body, size, expectedSha256);
        u.used += size - existing;
        this.used += size - existing;
        return { created: existing === 0, sha256 };
      } finally {
        u.reserved -= size;
        this.reserved -= size;
      }
    } catch (err) {
      if (isDiskFull(err)) throw new SectorStoreError('full', 'disk full');
      throw err;
    } finally {
      unlock();
    }
  }

  private async _write(final: string, body: AsyncIterable<Uint8Array>, size: number, expectedSha256: string): Promise<string> {
    const temp = this.tempPath('.part');
    const staging = this.direct ? this._staging.take() : null;
    let created = false;
    let renamed = false;
    try {
      if (staging) {
        // Checked before the file exists: a bad body costs no write at all.
        checkSha(await gather(body, size, staging), expectedSha256);
        created = true;
        await writeFileDirect(temp, staging, size);
      } else {
        created = true;
        checkSha(await writeBuffered(temp, body, size), expectedSha256);
      }
      await this._ensureDir(dirname(final));
      await rename(temp, final);
      renamed = true;
      await _fsyncDir(dirname(final));
      return expectedSha256;
    } finally {
      if (staging) this._staging.give(staging);
      if (created && !renamed) await unlink(temp).catch(() => undefined);
    }
  }

  /** Creates a fan-out directory; when it is new, fsyncs its parents so the rename inside survives a crash. */
  private async _ensureDir(fanDir: string): Promise<void> {
    const created = await mkdir(fanDir, { recursive: true });
    if (created === undefined) return;
    const contractDir = dirname(fanDir);
    await _fsyncDir(contractDir);
    await _fsyncDir(dirname(contractDir));
  }

  /**
   * An open handle and size of a sector, or null if there is none; the handle
   * survives a concurrent delete or replace. With `direct` it is opened with
   * O_DIRECT, for readDirect: ask only where `this.direct`.
   */
  async openSector(contractId: string, sectorId: string, options: { direct?: boolean } = {}): Promise<{ handle: FileHandle; size: number } | null> {
    let handle: FileHandle;
    try {
      handle = await open(this._path(contractId, sectorId), options.direct ? constants.O_RDONLY | constants.O_DIRECT : 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      return { handle, size: (await handle.stat()).size };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** The whole sector (at most 4 MiB), or null if there is none. */
  async read(contractId: string, sectorId: string): Promise<Buffer | null> {
    try {
      return await readFile(this._path(contractId, sectorId));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  /** Deletes a sector; false if there was none. */
  async delete(contractId: string, sectorId: string): Promise<boolean> {
    const path = this._path(contractId, sectorId);
    const unlock = this._lock(contractId, sectorId);
    try {
      const size = await _sizeOf(path);
      if (size === null) return false;
      await unlink(path);
      await rm(`${path}.root`, { force: true });
      await _fsyncDir(dirname(path));
      this._account(contractId).used -= size;
      this.used -= size;
      return true;
    } finally {
      unlock();
    }
  }

  /**
   * Hard-links every sector of contract `from`, with its computed root, into
   * contract `to` (a renewal of it): nothing is copied, and each contract's
   * files live until its own end and sweep. Refuses, linking nothing, when
   * `to` (of `contractSize` bytes) cannot hold them. A sector `to` holds
   * already is left alone. Until `from` is swept, a carried sector counts
   * against the server's storage twice, the safe side of --max-storage.
   */
  async carry(from: string, to: string, contractSize: number): Promise<{ sectors: number; bytes: number }> {
    const sectors = await this.list(from);
    const held = new Set((await this.list(to)).map((s) => s.id));
    const todo = sectors.filter((s) => !held.has(s.id));
    const bytes = todo.reduce((n, s) => n + s.size, 0);
    const u = this._account(to);
    if (u.used + u.reserved + bytes > contractSize) throw new SectorStoreError('over-contract', `contract has ${contractSize - u.used - u.reserved} bytes left, the sectors carried are ${bytes}`);
    for (const s of todo) {
      const unlock = this._lock(to, s.id);
      try {
        const target = this._path(to, s.id);
        await this._ensureDir(dirname(target));
        // Deleted from `from`, or put to `to`, since the listing: nothing to carry.
        if (!(await _linked(this._path(from, s.id), target))) continue;
        await _linked(this.rootPath(from, s.id), this.rootPath(to, s.id));
        await _fsyncDir(dirname(target));
        u.used += s.size;
        this.used += s.size;
      } finally {
        unlock();
      }
    }
    return { sectors: sectors.length, bytes: sectors.reduce((n, s) => n + s.size, 0) };
  }

  /** Contracts with a directory of sectors, empty ones included. */
  async contracts(): Promise<string[]> {
    return (await readdir(join(this.dir, 'sectors'))).filter(isId);
  }

  /** Deletes every sector of a contract, with their roots; returns the bytes freed. */
  async dropContract(contractId: string): Promise<number> {
    const root = join(this.dir, 'sectors', checkId(contractId, 'contractId'));
    const freed = this.usedBy(contractId);
    await rm(root, { recursive: true, force: true });
    await _fsyncDir(join(this.dir, 'sectors'));
    this.used -= freed;
    this.usage.delete(contractId);
    return freed;
  }

  /** The sectors of a contract, sorted by id. */
  async list(contractId: string): Promise<SectorInfo[]> {
    const root = join(this.dir, 'sectors', checkId(contractId, 'contractId'));
    let fans: string[];
    try {
      fans = await readdir(root);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: SectorInfo[] = [];
    for (const fan of fans.sort()) {
      if (!/^[0-9a-f]{2}$/.test(fan)) continue;
      for (const id of (await readdir(join(root, fan))).sort()) {
        if (!isId(id) || !id.startsWith(fan)) continue;
        const size = await _sizeOf(join(root, fan, id));
        if (size !== null) out.push({ id, size });
      }
    }
    return out;
  }
}
