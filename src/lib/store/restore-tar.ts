/** pull --stdout: a snapshot's selected entries as a POSIX tar stream, nothing written to disk. */
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import type { TreeEntry } from './manifest.js';
import { ProgressMeter, type ProgressFn } from './progress.js';
import type { SnapshotReader } from './reader.js';
import type { PullResult } from './restore.js';

/** Writes the selected entries as a POSIX tar stream to `out`. */
export async function restoreToTar(reader: SnapshotReader, entries: TreeEntry[], out: Writable, progress?: ProgressFn): Promise<PullResult> {
  const meter = new ProgressMeter('pull', progress);
  meter.totalFiles = entries.length;
  const pack = tar.pack();
  const done = pipeline(pack, out);
  for (const e of entries) {
    const header = { name: e.path, mode: e.mode, mtime: new Date(e.mtime / 1000), uid: e.uid, gid: e.gid };
    if (e.type === 'file') {
      const stream = pack.entry({ ...header, type: 'file', size: e.size });
      for await (const chunk of reader.content(e.chunks!)) {
        if (!stream.write(chunk)) await new Promise<void>((r) => stream.once('drain', () => r()));
        meter.bytes += chunk.length;
        meter.tick();
      }
      await new Promise<void>((res, rej) => stream.end((err?: Error | null) => (err ? rej(err) : res())));
    } else if (e.type === 'directory') {
      pack.entry({ ...header, type: 'directory' });
    } else {
      pack.entry({ ...header, type: e.type, linkname: e.target });
    }
    meter.files++;
  }
  pack.finalize();
  await done;
  meter.tick(true);
  return { files: meter.files, bytes: meter.bytes, seconds: meter.seconds, errors: [] };
}
