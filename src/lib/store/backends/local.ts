/**
 * A Backend on a local directory: `<root>/<id[0..2]>/<id>`, written to a temp
 * file and renamed into place so a reader never sees half a shard. Used by the
 * tests and the benchmark, and a model for the HTTP backend to the hosts.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Backend, BackendError, checkId } from '../backend.js';

export interface LocalBackendOptions {
  /** fsync each object before acknowledging it (default true; tests may turn it off for speed). */
  sync?: boolean;
}

export class LocalBackend implements Backend {
  readonly name: string;
  readonly root: string;
  private readonly _sync: boolean;

  constructor(name: string, root: string, options: LocalBackendOptions = {}) {
    if (typeof name !== 'string' || name.length === 0) throw new TypeError('backend name must be a non-empty string');
    if (typeof root !== 'string' || root.length === 0) throw new TypeError('backend root must be a non-empty path');
    this.name = name;
    this.root = root;
    this._sync = options.sync ?? true;
  }

  private _path(id: string): string {
    return join(this.root, id.slice(0, 2), id);
  }

  private _unavailable(err: any, id?: string): BackendError {
    return new BackendError('unavailable', this.name, `${err?.code ?? 'error'}: ${err?.message ?? err}`, id);
  }

  async put(id: string, data: Uint8Array): Promise<void> {
    checkId(id);
    if (!(data instanceof Uint8Array)) throw new TypeError('data must be a Uint8Array');
    const dir = join(this.root, id.slice(0, 2));
    const tmp = join(dir, `.${id}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await mkdir(dir, { recursive: true });
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(data);
        if (this._sync) await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this._path(id));
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw this._unavailable(err, id);
    }
  }

  async get(id: string): Promise<Uint8Array> {
    checkId(id);
    try {
      return await readFile(this._path(id));
    } catch (err: any) {
      if (err.code === 'ENOENT') throw new BackendError('not-found', this.name, `no object ${id}`, id);
      throw this._unavailable(err, id);
    }
  }

  async has(id: string): Promise<boolean> {
    checkId(id);
    try {
      return (await stat(this._path(id))).isFile();
    } catch (err: any) {
      if (err.code === 'ENOENT') return false;
      throw this._unavailable(err, id);
    }
  }

  async delete(id: string): Promise<void> {
    checkId(id);
    try {
      await unlink(this._path(id));
    } catch (err: any) {
      if (err.code !== 'ENOENT') throw this._unavailable(err, id);
    }
  }

  async *list(): AsyncIterable<string> {
    let dirs: string[];
    try {
      dirs = await readdir(this.root);
    } catch (err: any) {
      if (err.code === 'ENOENT') return;
      throw this._unavailable(err);
    }
    for (const d of dirs) {
      if (!/^[0-9a-f]{2}$/.test(d)) continue;
      let names: string[];
      try {
        names = await readdir(join(this.root, d));
      } catch (err) {
        throw this._unavailable(err);
      }
      for (const n of names) if (n.length === 64 && n.startsWith(d) && /^[0-9a-f]{64}$/.test(n)) yield n;
    }
  }
}
