/**
 * The registry's LevelDB layout. Every key starts with a one-byte prefix;
 * heights are big-endian so keys sort in chain order.
 *
 *   key                                        value
 *   ---------------------------------------    -------------------------------------------
 *   V                                          u32 layout version
 *   T                                          tip: u32 height, 32-byte block hash
 *   c [contract id 32]                         contract entry (see registry.ts, ContractEntry)
 *   o [tx hash 32] [output index u32]          contract id: the escrow output's contract
 *   r [renter key 33] [contract id 32]         empty: contracts by renter
 *   h [host key 33] [contract id 32]           empty: contracts by host
 *   t [contract id 32] [rater key 33]          rating entry: one per party per contract
 *   k [ratee key 33] [contract id 32] [rater]  empty: ratings a key received
 *   u [height u32]                             undo: the previous value of every key the
 *                                              block at that height changed
 *
 * Everything but V, T and u is derived from the chain alone, which is what
 * lets a node that syncs from genesis rebuild the same registry. So a
 * registry of an older layout is not migrated: Registry.open empties it and
 * the indexer reindexes from genesis (needs the node's full block store).
 *
 * Version 2: contract entries record what each escrow spend paid (outcome).
 */

export const LAYOUT_VERSION = 2;

function _u32be(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function _key(prefix: string, ...parts: Uint8Array[]): Buffer {
  return Buffer.concat([Buffer.from(prefix, 'ascii'), ...parts]);
}

/** Every key beginning with `prefix` (+ parts): for iterator ranges. */
export function range(prefix: Buffer): { gte: Buffer; lt: Buffer } {
  const lt = Buffer.from(prefix);
  let i = lt.length - 1;
  while (i >= 0 && lt[i] === 0xff) i--;
  lt[i]++;
  return { gte: prefix, lt: lt.subarray(0, i + 1) };
}

export const layout = {
  V: Buffer.from('V'),
  T: Buffer.from('T'),
  c: (id: Uint8Array) => _key('c', id),
  o: (hash: Uint8Array, index: number) => _key('o', hash, _u32be(index)),
  r: (key: Uint8Array, id?: Uint8Array) => _key('r', key, ...(id ? [id] : [])),
  h: (key: Uint8Array, id?: Uint8Array) => _key('h', key, ...(id ? [id] : [])),
  t: (id: Uint8Array, rater?: Uint8Array) => _key('t', id, ...(rater ? [rater] : [])),
  k: (ratee: Uint8Array, id?: Uint8Array, rater?: Uint8Array) => _key('k', ratee, ...(id ? [id] : []), ...(rater ? [rater] : [])),
  u: (height: number) => _key('u', _u32be(height)),
} as const;
