/**
 * `store check`'s sampling of a contracted host (docs/store.md, "Checking"):
 * a shard is a file-server sector, and the host's latest commitment revision,
 * signed by this renter, fixes each committed sector's size and Merkle root.
 * A few random segments of each shard are proven against that root, so a
 * host that kept a stub, lost a shard, or answers with another sector's
 * segments fails without the shards being downloaded.
 */
import { randomInt } from 'node:crypto';
import { type MerkleProof, contractRoot, segmentCount, verifyMerkleProof } from '../crypto/merkle.js';
import type { CommittedSector } from '../negotiator/node/fulfilment-store.js';
import { Revision } from '../negotiator/revision.js';
import type { NodeClient } from '../node/node-client.js';
import { FileServerClient, FileServerError } from '../server/file-server-client.js';
import { BackendError } from '../store/backend.js';
import type { ShardSample, ShardVerifier } from '../store/maintenance.js';
import type { HostEntry } from './hosts.js';
import { negotiatorApi } from './negotiator-api.js';

/** What one host is checked against: the sectors its latest commitment covers and the roots it serves now, by id. */
interface _Known {
  committed: Map<string, CommittedSector>;
  served: Map<string, CommittedSector>;
}

/** `count` distinct segment indexes of a sector of `size` bytes (all of them when it has no more). */
function _segments(size: number, count: number): number[] {
  const n = segmentCount(size);
  if (count >= n) return Array.from({ length: n }, (_, i) => i);
  const picked = new Set<number>();
  while (picked.size < count) picked.add(randomInt(n));
  return [...picked];
}

/** The sectors a commitment covers, after checking that this renter signed it and that its root is theirs. */
function _committed(contractId: string, renterPublicKey: string, c: { revision: string; sectors: CommittedSector[] } | null): Map<string, CommittedSector> {
  if (c === null) return new Map();
  const rev = Revision.decode(Buffer.from(c.revision, 'hex'));
  const leaves = c.sectors.map((s) => ({ id: s.id, size: s.size, root: Buffer.from(s.root, 'hex') }));
  const ours = Buffer.from(rev.contractId).toString('hex') === contractId && rev.verifyRenter(Buffer.from(renterPublicKey, 'hex'));
  if (!ours || rev.sectorCount !== leaves.length || !Buffer.from(contractRoot(leaves)).equals(rev.root)) {
    throw new Error(`the node's latest commitment of contract ${contractId.slice(0, 16)} does not verify`);
  }
  return new Map(c.sectors.map((s) => [s.id, s]));
}

export class HostShardVerifier implements ShardVerifier {
  private _known: Promise<_Known> | null = null;
  /** The last proof asked for: the next waits for it. */
  private _turn: Promise<unknown> = Promise.resolve();
  /**
   * Why the host stopped answering, once a proof failed for that after all its
   * retries: its other shards are reported unavailable at once rather than
   * each waiting out the same retries (a host that dies during a check).
   */
  private _gone: string | null = null;

  constructor(
    private readonly name: string,
    private readonly client: FileServerClient,
    /** The host's latest commitment, fetched once, on the first sample. */
    private readonly commitment: () => Promise<Map<string, CommittedSector>>,
  ) {}

  async sample(shardId: string, segments: number): Promise<ShardSample> {
    if (this._gone !== null) throw new BackendError('unavailable', this.name, this._gone, shardId);
    let known: _Known;
    try {
      known = await (this._known ??= this._learn());
    } catch (err) {
      throw new BackendError('unavailable', this.name, (err as Error).message, shardId);
    }
    const committed = known.committed.get(shardId);
    const served = known.served.get(shardId);
    const result: ShardSample = { state: 'ok', committed: committed !== undefined, segments: 0, bytes: 0 };
    if (served === undefined) return { ...result, state: 'missing' };
    if (committed && (committed.size !== served.size || committed.root !== served.root)) {
      return { ...result, state: 'corrupt', reason: `serves root ${served.root.slice(0, 16)} (${served.size} bytes), committed ${committed.root.slice(0, 16)} (${committed.size} bytes)` };
    }
    // Uncommitted, the host's own root is all there is to prove against: it shows the host holds that much, not what was sent.
    const sector = committed ?? served;
    const root = Buffer.from(sector.root, 'hex');
    for (const i of _segments(sector.size, segments)) {
      let proof;
      try {
        proof = await this._proof(shardId, i);
      } catch (err) {
        const status = err instanceof FileServerError ? err.status : null;
        if (status === 404) return { ...result, state: 'missing' };
        // 400: the host says the sector has fewer segments than the root it committed to.
        if (status === 400) return { ...result, state: 'corrupt', reason: `segment ${i} refused: ${(err as Error).message}` };
        this._gone = (err as Error).message;
        throw new BackendError('unavailable', this.name, this._gone, shardId);
      }
      if (proof.sectorSize !== sector.size || !verifyMerkleProof(root, proof)) {
        return { ...result, state: 'corrupt', reason: `segment ${i}: the proof does not match the ${committed ? 'committed' : 'served'} root` };
      }
      result.segments++;
      result.bytes += proof.segment.length;
    }
    return result;
  }

  /**
   * One proof at a time a host: its file server charges a proof 25 of the 50
   * requests a second it allows a key (it reads and hashes the whole sector),
   * so more at once only earn 429s; the client waits out each Retry-After.
   */
  private _proof(shardId: string, segment: number): Promise<MerkleProof> {
    const next = this._turn.then(() => this.client.proof(shardId, segment));
    this._turn = next.catch(() => undefined);
    return next;
  }

  private async _learn(): Promise<_Known> {
    const [committed, roots] = await Promise.all([this.commitment(), this.client.roots()]);
    return { committed, served: new Map(roots.map((r) => [r.id, r])) };
  }
}

/**
 * One verifier a host, keyed by host key (the store's backend names). The
 * commitment comes from the renter's own node (`GET
 * /ext/negotiator/contracts/<id>/commitment`), never from the host.
 */
export function hostShardVerifiers(client: NodeClient, hosts: HostEntry[], renter: { secretKey: Uint8Array; publicKey: string }): Map<string, ShardVerifier> {
  return new Map(
    hosts.map((h) => {
      const commitment = async () => {
        const answer = await negotiatorApi<{ commitment: { revision: string; sectors: CommittedSector[] } | null }>(client, 'GET', `/contracts/${h.contractId}/commitment`);
        return _committed(h.contractId, renter.publicKey, answer.commitment);
      };
      // A server that has not hashed its sectors yet answers the roots in parts, a 429 after each (its per-key hashing budget): waiting those out is the check's job.
      const files = new FileServerClient({ url: h.url, contractId: h.contractId, secretKey: renter.secretKey, retries: 20 });
      return [h.hostKey, new HostShardVerifier(h.hostKey, files, commitment)];
    }),
  );
}
