/**
 * The contract every Backend must meet (src/lib/store/backend.ts), as one suite.
 * A backend's test file calls `backendConformance(test, 'name', factory)`; the
 * factory returns a fresh, empty backend and a cleanup function.
 */
import type { ExecutionContext, TestFn } from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { BackendError, type Backend } from '../../src/lib/store/backend.js';

export interface BackendFixture {
  backend: Backend;
  cleanup(): Promise<void>;
}

const _id = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

async function _all(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const id of it) out.push(id);
  return out.sort();
}

export function backendConformance(test: TestFn, label: string, make: () => Promise<BackendFixture>): void {
  const withBackend = (title: string, fn: (b: Backend, t: ExecutionContext) => Promise<void>) =>
    test(`${label} conformance: ${title}`, async (t) => {
      const { backend, cleanup } = await make();
      t.teardown(cleanup);
      await fn(backend, t);
    });

  withBackend('put then get returns the same bytes, has is true, list shows it', async (b, t) => {
    const data = randomBytes(100_000);
    const id = _id(data);
    t.false(await b.has(id));
    await b.put(id, data);
    t.true(await b.has(id));
    t.true(Buffer.from(await b.get(id)).equals(data));
    t.deepEqual(await _all(b.list()), [id]);
  });

  withBackend('put of an existing id with the same bytes succeeds (idempotent)', async (b, t) => {
    const data = randomBytes(64);
    const id = _id(data);
    await b.put(id, data);
    await b.put(id, data);
    t.deepEqual(await _all(b.list()), [id]);
  });

  withBackend('get of a missing id throws BackendError not-found naming the backend', async (b, t) => {
    const err = await t.throwsAsync(b.get('00'.repeat(32)), { instanceOf: BackendError });
    t.is(err?.kind, 'not-found');
    t.is(err?.backend, b.name);
  });

  withBackend('delete removes; deleting a missing id succeeds', async (b, t) => {
    const ids = [];
    for (let i = 0; i < 5; i++) {
      const data = randomBytes(32);
      ids.push(_id(data));
      await b.put(_id(data), data);
    }
    await b.delete(ids[0]);
    await b.delete(ids[0]);
    t.false(await b.has(ids[0]));
    t.deepEqual(await _all(b.list()), ids.slice(1).sort());
  });

  withBackend('malformed ids are refused before any I/O', async (b, t) => {
    for (const bad of ['', '../etc/passwd', 'AB'.repeat(32), 'ab'.repeat(31), 'ab'.repeat(32) + '/x']) {
      await t.throwsAsync(b.get(bad), { instanceOf: TypeError });
      await t.throwsAsync(b.put(bad, new Uint8Array(1)), { instanceOf: TypeError });
    }
  });
}
