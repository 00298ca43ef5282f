/**
 * A NegotiatorService inside the test's process: on a MemoryNodeAdapter,
 * with its own LevelDB in a temp dir, delivering what the adapter receives
 * to the service, closed in the test's teardown.
 */
import type { ExecutionContext } from 'ava';
import { Level } from 'level';
import { generateKeyPair, type KeyPair } from '../../src/lib/crypto/sig.js';
import type { ContractFulfilmentOptions } from '../../src/lib/negotiator/node/contract-fulfilment.js';
import { MemoryNodeAdapter, type MemoryNodeOptions } from '../../src/lib/negotiator/node/memory-adapter.js';
import { NegotiatorService } from '../../src/lib/negotiator/node/service.js';
import { tempDir } from './devnode.js';

export interface Party {
  node: MemoryNodeAdapter;
  svc: NegotiatorService;
  identity: KeyPair;
}

export async function startService(t: ExecutionContext, nodeOptions: MemoryNodeOptions = {}, serviceOptions: ContractFulfilmentOptions = {}, identity = generateKeyPair()): Promise<Party> {
  const node = new MemoryNodeAdapter(nodeOptions);
  const db = new Level<string, Buffer>(tempDir(t, 'cc-service-'), { valueEncoding: 'buffer' });
  const svc = new NegotiatorService(node, db, identity, serviceOptions);
  node.listen((peer, cmd, payload) => svc.onMessage(peer, cmd, payload));
  await svc.open();
  t.teardown(async () => {
    await svc.close();
    await db.close();
  });
  return { node, svc, identity };
}
