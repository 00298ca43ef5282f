/**
 * RFC 6962's recursive Merkle tree, written for clarity with an independent
 * sha256 (@noble/hashes): the reference the iterative trees of
 * src/lib/crypto/merkle.ts are checked against. Leaves come already hashed.
 */
import { sha256 } from '@noble/hashes/sha2.js';

export const cat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));

/** The largest power of two below n: where the recursion splits. */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** The root over `leaves` (at least one). */
export function refTree(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 1) return leaves[0];
  const k = split(leaves.length);
  return sha256(cat(Uint8Array.of(1), refTree(leaves.slice(0, k)), refTree(leaves.slice(k))));
}

/** The audit path of leaf m, leaf level first. */
export function refPath(leaves: Uint8Array[], m: number): Uint8Array[] {
  if (leaves.length === 1) return [];
  const k = split(leaves.length);
  return m < k
    ? [...refPath(leaves.slice(0, k), m), refTree(leaves.slice(k))]
    : [...refPath(leaves.slice(k), m - k), refTree(leaves.slice(0, k))];
}
