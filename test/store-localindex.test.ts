/**
 * The local index's snapshot records, on a real LevelDB: listings read the
 * i: record (no tree); an index from before i: records gets one the first
 * time a snapshot is listed; forgetting a snapshot removes both records.
 */
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { snapshotInfo } from '../src/lib/store/history.js';
import { LocalIndex } from '../src/lib/store/localindex.js';
import { MANIFEST_VERSION, type Snapshot } from '../src/lib/store/manifest.js';

const snap: Snapshot = {
  id: 'ab'.repeat(32),
  header: {
    version: MANIFEST_VERSION,
    time: '2026-12-04T18:00:00.000Z',
    hostname: 'renter',
    source: '/home/me/docs',
    tags: ['daily'],
    parent: null,
    files: 2,
    bytes: 5,
    body: { size: 10, chunks: [] },
    sectors: [],
  },
  tree: [
    { path: 'a', type: 'directory', mode: 0o755, mtime: 1 },
    { path: 'a/b.txt', type: 'file', mode: 0o644, mtime: 2, size: 5, chunks: [] },
  ],
  sectors: [],
};

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'cc-localindex-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a stored snapshot lists from its info record, reads back whole, and is forgotten whole', (t) =>
  withDir(async (dir) => {
    const index = await LocalIndex.open(dir);
    try {
      await index.putSnapshot(snap);
      t.deepEqual(await index.snapshotInfo(snap.id), snapshotInfo(snap));
      t.deepEqual(await index.snapshot(snap.id), snap);
      await index.delSnapshot(snap.id);
      t.is(await index.snapshotInfo(snap.id), undefined);
      t.is(await index.snapshot(snap.id), undefined);
    } finally {
      await index.close();
    }
  }));

test('an index from before info records gets one the first time the snapshot is listed', (t) =>
  withDir(async (dir) => {
    const raw = new Level<string, any>(dir, { valueEncoding: 'json' });
    await raw.put(`m:${snap.id}`, snap);
    await raw.close();
    const index = await LocalIndex.open(dir);
    try {
      t.deepEqual(await index.snapshotInfo(snap.id), snapshotInfo(snap));
    } finally {
      await index.close();
    }
    const after = new Level<string, any>(dir, { valueEncoding: 'json' });
    try {
      t.deepEqual(await after.get(`i:${snap.id}`), snapshotInfo(snap));
    } finally {
      await after.close();
    }
  }));
