/**
 * The host backend against a real file server over HTTP on 127.0.0.1. The
 * contract comes from a fixed authority here; test/store-e2e tests run it
 * against contracts negotiated on a dev network.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair } from '../src/lib/crypto/sig.js';
import { startFileServer, type ServedContract } from '../src/lib/server/index.js';
import { HostBackend } from '../src/lib/store/backends/host.js';
import { BackendError } from '../src/lib/store/backend.js';
import { backendConformance } from './util/backend-conformance.js';

async function hostFixture(sizeBytes = 64 * 1024 * 1024) {
  const dir = mkdtempSync(join(tmpdir(), 'cc-host-backend-'));
  const renter = generateKeyPair();
  const contract: ServedContract = {
    contractId: 'c0'.repeat(32),
    renterKey: Buffer.from(renter.publicKey).toString('hex'),
    sizeBytes,
    state: 'active',
  };
  const server = await startFileServer({
    storageDir: dir,
    authority: { lookup: async (id) => (id === contract.contractId ? contract : null) },
    logFormat: 'none',
  });
  const backend = new HostBackend({ name: 'host-a', url: server.url, contractId: contract.contractId, secretKey: renter.secretKey, retries: 0 });
  return { backend, server, cleanup: async () => { await server.close(); rmSync(dir, { recursive: true, force: true }); } };
}

backendConformance(test, 'HostBackend', hostFixture);

test('a stopped host is unavailable, an over-size put is unavailable, both named', async (t) => {
  const { backend, server, cleanup } = await hostFixture(1000);
  t.teardown(cleanup);
  const big = await t.throwsAsync(backend.put('ab'.repeat(32), new Uint8Array(2000)), { instanceOf: BackendError });
  t.is(big!.kind, 'unavailable');
  t.is(big!.backend, 'host-a');
  await server.close();
  const down = await t.throwsAsync(backend.get('ab'.repeat(32)), { instanceOf: BackendError });
  t.is(down!.kind, 'unavailable');
});
