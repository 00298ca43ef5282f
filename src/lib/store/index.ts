/**
 * The store engine's public surface: what `cloudcoin store` and the renter
 * domain need. Everything else in this directory is internal. keys.ts and
 * paths.ts load without the engine, so a caller that must start the key's
 * derivation before the engine compiles (cli/store.ts) may import them alone.
 *
 * @example
 * await initKey(keyFile, passphrase);
 * // Not awaited: the store opens, and a push probes and walks, while the KDF runs.
 * const keys = openKey(keyFile, passphrase);
 * const store = await Store.open({ keys, backends, stateDir });
 * try {
 *   const { snapshot } = await store.push('/home/me/docs', { tags: ['daily'] });
 *   await store.pull(snapshot, '/tmp/restore');
 * } finally {
 *   await store.close();
 * }
 */
export { initKey, openKey, exportKey, importKey, StoreKeys, DEFAULT_KDF, type KdfParams, type ScryptParams } from './keys.js';
export { Store, type StoreOptions, type PullSummary, type ForgetOptions } from './store.js';
export { defaultK, DEFAULT_REDUNDANCY, type Redundancy } from './redundancy.js';
export { type Backend, BackendError, type BackendErrorKind, checkId } from './backend.js';
export { LocalBackend } from './backends/local.js';
export { HostBackend, type HostBackendOptions } from './backends/host.js';
export { storePaths, type StorePaths } from './paths.js';
/** XChaCha20-Poly1305, for what is sealed under a key derived from the store's (the renter key). */
export { open, randomNonce, seal } from './aead.js';
export type { PushOptions, PushSummary } from './push.js';
export type { PullOptions } from './restore.js';
export type { SnapshotInfo, ForgetPolicy, Change, ChangeKind, ListEntry } from './history.js';
export { DEFAULT_SAMPLE, type CheckOptions, type CheckResult, type PruneResult, type ShardSample, type ShardVerifier } from './maintenance.js';
export type { HealthFigures, HealthOptions, HostHealth, RepairOptions, RepairResult, SnapshotHealth, StatusResult } from './repair.js';
export type { CorruptReport } from './shards.js';
export type { ProgressEvent, ProgressFn } from './progress.js';
export type { Snapshot, ManifestHeader, TreeEntry, EntryType } from './manifest.js';
export type { HiddenSnapshot } from './listing.js';
