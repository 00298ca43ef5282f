/**
 * The file server's public surface: the server, its client, the contract
 * authorities, and the Merkle proofs both sides compute. See docs/server.md.
 */
export { startFileServer, type FileServer, type FileServerOptions } from './file-server.js';
export { FileServerClient, FileServerError, type FileServerClientOptions, type ContractListing } from './file-server-client.js';
export {
  AuthorityUnavailableError,
  NegotiatorRefusedError,
  notLiveReason,
  parseServedContract,
  type Access,
  type ContractAuthority,
  type RevisionSigner,
  type ServedContract,
  type ServedContractState,
} from './authority.js';
export { HttpContractAuthority, type HttpAuthorityOptions } from './authority-http.js';
export { CachingAuthority, type CacheOptions, type CacheStats } from './authority-cache.js';
export { merkleProof, merkleProofYielding, merkleRoot, segmentCount, verifyMerkleProof, type MerkleProof } from '../crypto/merkle.js';
export { MAX_SECTOR_SIZE, SEGMENT_SIZE } from './ids.js';
export type { LogFormat } from './request-log.js';
export type { ServerStatus } from './status-page.js';
export type { SectorInfo } from './sector-store.js';
export type { SectorRoot } from './sector-roots.js';
export { DELETE_GRACE, type SweepOptions } from './sweep.js';
