/**
 * Writing and reading files around the page cache (O_DIRECT), for bytes that
 * are written once and read rarely: a file server's sectors.
 *
 * A buffered write copies every byte into page-cache pages, and on the virtual
 * machines this project runs on, the first touch of a page costs the guest
 * about 12 µs (the host backs it then): 500 MB written and fsynced took 1.75 s
 * of system CPU buffered and 0.15 s with O_DIRECT, where the disk's DMA reads
 * the caller's memory instead (dd, docs/server.md "Storage on disk").
 *
 * O_DIRECT wants the memory address, the file offset and the length aligned to
 * the device's logical block (512 or 4096 bytes). Node's Buffers are not
 * aligned; a WebAssembly memory is, to the page, so the bytes are gathered into
 * one of those first. Some file systems refuse O_DIRECT (FUSE, older tmpfs):
 * callers probe with directWriteWorks and write through the page cache there.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/** Alignment of addresses, offsets and lengths: the largest logical block there is. */
export const DIRECT_ALIGN = 4096;

const _WASM_PAGE = 64 * 1024;

// tsconfig's lib (ES2023, no DOM) does not declare the WebAssembly global that Node provides.
const _Memory: (new (d: { initial: number; maximum: number }) => { buffer: ArrayBuffer }) | undefined = (globalThis as any).WebAssembly?.Memory;

/** Whether alignedBuffer works: not where the runtime has no WebAssembly (`node --jitless`). */
export const alignedBuffersAvailable = _Memory !== undefined;

/** A zero-filled buffer of `size` bytes (a multiple of 64 KiB) at a page-aligned address. */
export function alignedBuffer(size: number): Buffer {
  if (!Number.isSafeInteger(size) || size <= 0 || size % _WASM_PAGE !== 0) throw new RangeError(`size must be a positive multiple of 64 KiB, got ${size}`);
  if (!_Memory) throw new Error('aligned buffers need WebAssembly, which this runtime lacks');
  const pages = size / _WASM_PAGE;
  // A fixed maximum: a memory that grew would detach the buffer handed out.
  return Buffer.from(new _Memory({ initial: pages, maximum: pages }).buffer);
}

const _CREATE_DIRECT = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DIRECT;
const _padded = (n: number) => Math.ceil(n / DIRECT_ALIGN) * DIRECT_ALIGN;

function _diskFull(wrote: number, of: number): Error {
  return Object.assign(new Error(`direct write stopped after ${wrote} of ${of} bytes`), { code: 'ENOSPC' });
}

/**
 * Creates `path`, which must not exist, holding the first `size` bytes of
 * `aligned` (from alignedBuffer), written with O_DIRECT and fsynced. The last
 * block is written whole and the file then cut to `size`, so `aligned` must
 * reach the next multiple of DIRECT_ALIGN past `size`; the bytes between are
 * zeroed. On failure the file may be left behind: the caller removes it.
 */
export async function writeFileDirect(path: string, aligned: Buffer, size: number, mode = 0o644): Promise<void> {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`size must be a non-negative integer, got ${size}`);
  if (!Buffer.isBuffer(aligned) || aligned.length < _padded(size)) throw new RangeError(`buffer must hold at least ${_padded(size)} bytes`);
  const fh = await open(path, _CREATE_DIRECT, mode);
  try {
    await _writeTail(fh, aligned, size, 0);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes `length` bytes (a multiple of DIRECT_ALIGN) of `aligned` at `position`. */
async function _writeAligned(fh: FileHandle, aligned: Buffer, length: number, position: number): Promise<void> {
  const { bytesWritten } = await fh.write(aligned, 0, length, position);
  // A short direct write leaves an unaligned rest that the next call would refuse with
  // EINVAL; on a local disk it only happens as the disk fills, so it is reported as that.
  if (bytesWritten < length) throw _diskFull(position + bytesWritten, position + length);
}

/** Writes the first `fill` bytes of `aligned` at `position` as the file's end: the last block zero-padded, the file then cut. */
async function _writeTail(fh: FileHandle, aligned: Buffer, fill: number, position: number): Promise<void> {
  const padded = _padded(fill);
  aligned.fill(0, fill, padded);
  if (padded > 0) await _writeAligned(fh, aligned, padded, position);
  if (padded !== fill) await fh.truncate(position + fill);
}

/**
 * A new file written with O_DIRECT as bytes come: they are copied into
 * `aligned` (from alignedBuffer) and written each time it is full, the rest
 * by end(). The caller may set modes and times through `handle` after end(),
 * then close it; on failure it closes it and removes the file.
 */
export class DirectWriter {
  /** Bytes written so far. */
  size = 0;
  private _fill = 0;

  private constructor(
    readonly handle: FileHandle,
    private readonly _buf: Buffer,
  ) {}

  /** Creates `path`, which must not exist; throws EINVAL where the file system refuses O_DIRECT. */
  static async create(path: string, aligned: Buffer, mode = 0o644): Promise<DirectWriter> {
    if (!Buffer.isBuffer(aligned) || aligned.length === 0 || aligned.length % DIRECT_ALIGN !== 0) throw new RangeError('buffer must be a multiple of 4096 bytes long');
    return new DirectWriter(await open(path, _CREATE_DIRECT, mode), aligned);
  }

  async write(bytes: Uint8Array): Promise<void> {
    for (let at = 0; at < bytes.length; ) {
      const n = Math.min(bytes.length - at, this._buf.length - this._fill);
      this._buf.set(bytes.subarray(at, at + n), this._fill);
      this._fill += n;
      at += n;
      if (this._fill === this._buf.length) {
        await _writeAligned(this.handle, this._buf, this._fill, this.size);
        this.size += this._fill;
        this._fill = 0;
      }
    }
  }

  /** Writes what is left; the file is then exactly the bytes written. */
  async end(): Promise<void> {
    await _writeTail(this.handle, this._buf, this._fill, this.size);
    this.size += this._fill;
    this._fill = 0;
  }
}

/**
 * `length` bytes at `position` of a file opened with O_DIRECT, read into
 * `aligned` (from alignedBuffer) from the block boundary before `position` to
 * the one after the end, and returned as a view. Throws if the file ends first.
 */
export async function readDirect(fh: FileHandle, aligned: Buffer, position: number, length: number): Promise<Buffer> {
  if (!Number.isSafeInteger(position) || position < 0 || !Number.isSafeInteger(length) || length < 0) throw new RangeError('position and length must be non-negative integers');
  const from = Math.floor(position / DIRECT_ALIGN) * DIRECT_ALIGN;
  const to = Math.ceil((position + length) / DIRECT_ALIGN) * DIRECT_ALIGN;
  if (!Buffer.isBuffer(aligned) || aligned.length < to - from) throw new RangeError(`buffer must hold at least ${to - from} bytes`);
  let got = 0;
  while (from + got < position + length) {
    const { bytesRead } = await fh.read(aligned, got, to - from - got, from + got);
    got += bytesRead;
    // Only the end of the file stops a direct read inside a block; reading on from there is refused.
    if (bytesRead === 0 || (got % DIRECT_ALIGN !== 0 && from + got < position + length)) {
      throw new Error(`file ended after ${from + got} of ${position + length} bytes`);
    }
  }
  return aligned.subarray(position - from, position - from + length);
}

/** Whether files in `dir` can be created and written with writeFileDirect (it writes and removes one). */
export async function directWriteWorks(dir: string): Promise<boolean> {
  const path = join(dir, `.direct-probe-${randomBytes(6).toString('hex')}`);
  try {
    await writeFileDirect(path, alignedBuffer(_WASM_PAGE), 1);
    return true;
  } catch {
    return false;
  } finally {
    await unlink(path).catch(() => undefined);
  }
}
