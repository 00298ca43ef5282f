/**
 * The Merkle roots of a contract's sectors, which its commitment revisions sign
 * (docs/protocol.md §10). A root costs a pass over the
 * sector (about 0.2 s for 4 MiB), so each is computed once, with the event loop
 * free meanwhile, and kept beside its sector:
 *
 *     <sector>.root    root (32) || size u64 || inode u64 || mtime ns u64
 *
 * The sector's identity (size, inode, mtime) is checked on every read, so a
 * sector replaced under the same id (a new inode: sectors appear by rename) is
 * never answered with its predecessor's root.
 */
import type { BigIntStats } from 'node:fs';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { merkleProofYielding } from '../crypto/merkle.js';
import type { SectorStore } from './sector-store.js';

const SIDECAR_SIZE = 32 + 8 * 3;

export interface SectorRoot {
  id: string;
  size: number;
  /** 64 hex. */
  root: string;
}

function _identity(st: BigIntStats): Buffer {
  const b = Buffer.alloc(SIDECAR_SIZE - 32);
  b.writeBigUInt64LE(st.size, 0);
  b.writeBigUInt64LE(st.ino, 8);
  b.writeBigUInt64LE(st.mtimeNs, 16);
  return b;
}

export class SectorRoots {
  /** Roots being computed, so that concurrent requests hash a sector once. */
  private readonly computing = new Map<string, Promise<SectorRoot | null>>();

  constructor(private readonly store: SectorStore) {}

  /**
   * The roots of every sector of a contract, sorted by id. `beforeCompute` runs
   * before each root not yet known is computed, and may throw to stop there
   * (the rate limit): roots computed so far are kept for the next request.
   */
  async roots(contractId: string, beforeCompute: () => void): Promise<SectorRoot[]> {
    const out: SectorRoot[] = [];
    for (const { id } of await this.store.list(contractId)) {
      const r = await this.root(contractId, id, beforeCompute);
      if (r !== null) out.push(r);
    }
    return out;
  }

  /** One sector's root; null when the sector is gone. */
  async root(contractId: string, sectorId: string, beforeCompute: () => void): Promise<SectorRoot | null> {
    const sector = await this.store.openSector(contractId, sectorId);
    if (sector === null) return null;
    let identity: Buffer;
    try {
      identity = _identity(await sector.handle.stat({ bigint: true }));
    } finally {
      await sector.handle.close();
    }
    const cached = await this._cached(contractId, sectorId, identity);
    if (cached !== null) return { id: sectorId, size: sector.size, root: cached };
    const key = `${contractId}/${sectorId}`;
    let pending = this.computing.get(key);
    if (!pending) {
      beforeCompute();
      pending = this._compute(contractId, sectorId).finally(() => this.computing.delete(key));
      this.computing.set(key, pending);
    }
    return pending;
  }

  private async _cached(contractId: string, sectorId: string, identity: Buffer): Promise<string | null> {
    let data: Buffer;
    try {
      data = await readFile(this.store.rootPath(contractId, sectorId));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    if (data.length !== SIDECAR_SIZE || !data.subarray(32).equals(identity)) return null;
    return data.subarray(0, 32).toString('hex');
  }

  private async _compute(contractId: string, sectorId: string): Promise<SectorRoot | null> {
    // Read through one handle, and its identity taken from it: a concurrent replace cannot mix two sectors.
    const sector = await this.store.openSector(contractId, sectorId);
    if (sector === null) return null;
    let identity: Buffer;
    let data: Buffer;
    try {
      identity = _identity(await sector.handle.stat({ bigint: true }));
      data = await sector.handle.readFile();
    } finally {
      await sector.handle.close();
    }
    const { root } = await merkleProofYielding(data, 0);
    await this._keep(contractId, sectorId, Buffer.concat([root, identity]));
    return { id: sectorId, size: data.length, root: Buffer.from(root).toString('hex') };
  }

  /**
   * Writes the sidecar by rename, so a reader sees a whole one or none. One left
   * by a sector deleted meanwhile names that sector's identity, so it is never
   * taken for a later sector's; the contract's deletion removes it.
   */
  private async _keep(contractId: string, sectorId: string, sidecar: Buffer): Promise<void> {
    const temp = this.store.tempPath('.root');
    const fh = await open(temp, 'wx', 0o644);
    try {
      await fh.writeFile(sidecar);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(temp, this.store.rootPath(contractId, sectorId));
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}
