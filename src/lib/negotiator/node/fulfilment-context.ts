/**
 * What every part of a node's contract fulfilment shares: the node, its
 * identity, the registry (and the wait for it to reach the tip), the
 * fulfilment state store, and the proof windows of a contract on this
 * node's network.
 */
import type { KeyPair } from '../../crypto/sig.js';
import type { ContractEntry } from '../entries.js';
import type { Registry } from '../registry.js';
import type { ProofWindows } from '../windows.js';
import type { NodeAdapter } from './adapter.js';
import type { FulfilmentStore } from './fulfilment-store.js';

export interface FulfilmentContext {
  readonly node: NodeAdapter;
  readonly identity: KeyPair;
  readonly registry: Registry;
  /** Resolves once the registry has indexed the chain tip. */
  synced(): Promise<void>;
  readonly store: FulfilmentStore;
  windowsOf(e: ContractEntry): ProofWindows;
}

/** The first 16 hex digits of a contract id, as log lines name it. */
export function shortId(id: Uint8Array): string {
  return Buffer.from(id).toString('hex').slice(0, 16);
}
