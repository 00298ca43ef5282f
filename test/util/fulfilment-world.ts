/**
 * The in-process world of fulfilment tests: a renter and a host
 * NegotiatorService on MemoryNodeAdapters that share one MemoryChain, and the
 * host's real file server (in-process, its authority and revision signer the
 * host's service), with one funded contract between them.
 */
import type { ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import type { BTX } from '../../src/lib/chain/primitives.js';
import type { KeyPair } from '../../src/lib/crypto/sig.js';
import { MemoryChain } from '../../src/lib/negotiator/node/memory-chain.js';
import { MemoryNodeAdapter } from '../../src/lib/negotiator/node/memory-adapter.js';
import { NegotiatorRefusedError, parseServedContract } from '../../src/lib/server/authority.js';
import { FileServerClient } from '../../src/lib/server/file-server-client.js';
import { startFileServer, type FileServer } from '../../src/lib/server/file-server.js';
import { isCloudCoinError } from '../../src/lib/errors.js';
import { party, walletOf } from '../negotiator-fixtures.js';
import { tempDir, waitFor } from './devnode.js';
import { startService, type Party } from './memory-service.js';

export type { Party } from './memory-service.js';

const PASSPHRASE = 'fulfilment';
export const GiB = 1024 ** 3;
/** 3 windows of 4 blocks on dev. */
export const DURATION = 12;

export interface World {
  chain: MemoryChain;
  host: Party;
  renter: Party;
  storageDir: string;
  contractId: string;
  funding: BTX;
  /** The renter's client of the host's file server, as its store would use it. */
  client: FileServerClient;
  server: FileServer;
}

/** A service on `chain`; `identity`, if given, is its key (a node reinstalled with the key it kept). */
export function start(t: ExecutionContext, chain: MemoryChain, identity?: KeyPair): Promise<Party> {
  // Rounds run on each block; the timer stays out of the way of what a test checks.
  return startService(t, { chain, passphrase: PASSPHRASE, funder: walletOf(party()) }, { roundEveryMs: 3_600_000 }, identity);
}

/**
 * A funded contract of DURATION blocks between two services, one block
 * past its start, and the host's file server holding `sectors` of it. The
 * daemons' rounds run with each block, before the sectors are there: window
 * 0 may be proven on an earlier commitment than the one the test checks.
 * `front`, if given, stands between the renter's daemon and the file server:
 * it gets the server's URL and answers the one the host's offer carries.
 */
export async function world(t: ExecutionContext, sectors = 2, front?: (serverUrl: string) => Promise<string>): Promise<World> {
  const chain = new MemoryChain();
  chain.mineEmpty(3);
  const host = await start(t, chain);
  const renter = await start(t, chain);
  MemoryNodeAdapter.connect(host.node, renter.node);
  const storageDir = tempDir(t, 'cc-fulfil-server-');
  const server = await startFileServer({
    storageDir,
    hostKey: Buffer.from(host.identity.publicKey).toString('hex'),
    logFormat: 'none',
    authority: {
      lookup: async (id) => {
        try {
          return parseServedContract(await host.svc.contract(id), id);
        } catch (err) {
          if (isCloudCoinError(err) && err.code === 'ENOTFOUND') return null;
          throw err;
        }
      },
    },
    signer: {
      // As HttpContractAuthority does over HTTP: the Negotiator's refusal is the renter's to read.
      countersign: async (id, hex) => {
        try {
          return (await host.svc.countersign(id, hex)).revision;
        } catch (err) {
          if (isCloudCoinError(err)) throw new NegotiatorRefusedError(err.message, 409);
          throw err;
        }
      },
    },
  });
  t.teardown(() => server.close());
  const offer = await host.svc.createOffer({
    price: 10_000_000, collateral: 20_000_000, minSize: 1, maxSize: GiB, minDuration: 4, maxDuration: 1000, url: front ? await front(server.url) : server.url, validity: 3600, host: { capacity: 10 * GiB },
  });
  await waitFor(async () => (await renter.svc.listOffers()).length === 1, 5_000, 'the offer at the renter');
  const r = await renter.svc.negotiate({ offer: offer.hash, size: GiB, duration: DURATION, timeout: 10_000 });
  if (r.outcome !== 'funded') throw new Error(`negotiation ended ${r.outcome}: ${r.reason ?? r.error?.message}`);
  const funding = renter.node.mempool[0];
  chain.mine([funding]);
  // The renter's daemon leaves a contract alone in the block that funds it.
  chain.mine();
  const contractId = r.negotiation.contractId;
  await host.svc.synced();
  await renter.svc.synced();
  const client = new FileServerClient({ url: server.url, contractId, secretKey: renter.identity.secretKey });
  const ids: string[] = [];
  for (let i = 0; i < sectors; i++) {
    const id = randomBytes(32).toString('hex');
    await client.put(id, randomBytes(1000 + i * 4096));
    ids.push(id);
  }
  await renter.svc.setExpectedSectors(contractId, ids);
  return { chain, host, renter, storageDir, contractId, funding, client, server };
}

/** Mines `n` blocks one by one and lets both daemons finish their rounds after each. */
export async function mine(w: World, n: number, txs: BTX[] = []): Promise<void> {
  for (let i = 0; i < n; i++) {
    w.chain.mine(i === 0 ? txs : []);
    await w.renter.svc.fulfilment.round();
    await w.host.svc.fulfilment.round();
  }
}

export async function show(p: Party, id: string) {
  return p.svc.contract(id);
}

/** Waits until the renter holds the host's acknowledgement of its latest payment revision. */
export async function acknowledged(w: World): Promise<void> {
  await waitFor(async () => (await show(w.renter, w.contractId)).fulfilment?.payment?.acknowledged === true, 5_000, 'the host\'s ccpayack');
}

