/**
 * What every contract endpoint's handler gets (routes.ts, contract-routes.ts,
 * revision-route.ts), in a module of its own so those files need not import
 * each other for it.
 */
import type { BufferPool } from '../buffer-pool.js';
import type { RevisionSigner } from './authority.js';
import type { AuthContext } from './authorize.js';
import type { SectorRoots } from './sector-roots.js';
import type { SectorStore } from './sector-store.js';

export interface RouteContext extends AuthContext {
  store: SectorStore;
  /** Recycled memory for GET answers. */
  readBuffers: BufferPool;
  /** Time allowed for a whole request body to arrive. */
  bodyTimeoutMs: number;
  roots: SectorRoots;
  /** The Negotiator that countersigns revisions; without one, revisions are refused. */
  signer?: RevisionSigner;
}

/** What a handler tells the request log. */
export interface RouteNotes {
  key?: string;
  bytesIn: number;
}
