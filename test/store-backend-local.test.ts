import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalBackend } from '../src/lib/store/backends/local.js';
import { backendConformance } from './util/backend-conformance.js';

backendConformance(test, 'LocalBackend', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cc-local-backend-'));
  return { backend: new LocalBackend('local-a', dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
});
