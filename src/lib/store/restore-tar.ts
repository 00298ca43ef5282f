/** pull --stdout: a snapshot's selected entries as a POSIX tar stream, nothing written to disk. */
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { CloudCoinError, ExitCode, interruptedError } from '../errors.js';
import type { TreeEntry } from './manifest.js';
import { ProgressMeter, type ProgressFn } from './progress.js';
import type { SnapshotReader } from './reader.js';
import type { PullResult } from './restore.js';

/**
 * Writes the selected entries as a POSIX tar stream to `out`. When `out`
 * fails (its reader went away: `| head`, EPIPE) the restore stops at once
 * with a CloudCoinError naming why, the sectors it held given back; so it
 * does, with interruptedError, when `signal` is aborted (the reader's too).
 */
export async function restoreToTar(reader: SnapshotReader, entries: TreeEntry[], out: Writable, progress?: ProgressFn, signal?: AbortSignal): Promise<PullResult> {
  const meter = new ProgressMeter('pull', progress);
  meter.totalFiles = entries.length;
  const pack = tar.pack();
  const done = pipeline(pack, out);
  // The pipeline destroys the pack and its entry streams when `out` fails, and rejects with why:
  // every wait below gives up then, rather than waiting for a drain that never comes.
  const broken = new Promise<never>((_, reject) => done.catch(reject));
  broken.catch(() => undefined);
  try {
    for (const e of entries) {
      signal?.throwIfAborted();
      const header = { name: e.path, mode: e.mode, mtime: new Date(e.mtime / 1000), uid: e.uid, gid: e.gid };
      if (e.type === 'file') {
        const stream = pack.entry({ ...header, type: 'file', size: e.size });
        // Its error is the pipeline's, reported through `broken`.
        stream.on('error', () => undefined);
        for await (const chunk of reader.content(e.chunks!)) {
          if (!stream.write(chunk)) await Promise.race([new Promise<void>((r) => stream.once('drain', () => r())), broken]);
          meter.bytes += chunk.length;
          meter.tick();
        }
        await Promise.race([new Promise<void>((res, rej) => stream.end((err?: Error | null) => (err ? rej(err) : res()))), broken]);
      } else if (e.type === 'directory') {
        pack.entry({ ...header, type: 'directory' });
      } else {
        pack.entry({ ...header, type: e.type, linkname: e.target });
      }
      meter.files++;
    }
    pack.finalize();
    await done;
  } catch (err: any) {
    if (signal?.aborted) throw interruptedError(signal, `${meter.files} of ${entries.length} entries sent; the tar stream is cut short`);
    if (!(err instanceof CloudCoinError) && typeof err?.code === 'string' && typeof err?.syscall === 'string') {
      throw new CloudCoinError(err.code, `the tar stream could not be written (${err.code}): ${meter.files} of ${entries.length} entries sent`, ExitCode.failure);
    }
    throw err;
  } finally {
    pack.destroy();
  }
  meter.tick(true);
  return { files: meter.files, bytes: meter.bytes, seconds: meter.seconds, errors: [] };
}
