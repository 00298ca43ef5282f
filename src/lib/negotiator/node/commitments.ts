/**
 * The host's countersignature of commitment revisions (docs/protocol.md §8.6).
 * Its file server calls this through the Negotiator's HTTP API once it has
 * checked that the revision commits to the sectors it holds; here the
 * Negotiator checks what only it knows: the contract is on chain, live and
 * this node's as host, the renter signed it, its number is above the latest
 * kept and it commits no more bytes than the contract rents.
 */
import { isProtocolError } from '../../net/errors.js';
import { negotiatorError } from '../errors.js';
import { hexParam } from '../params.js';
import { Revision } from '../revision.js';
import { shortId, type FulfilmentContext } from './fulfilment-context.js';

export class HostCommitments {
  constructor(private readonly ctx: FulfilmentContext) {}

  /** Countersigns a renter-signed revision (hex) of contract `id`; the revision with both signatures, hex. */
  async countersign(id: string, revisionHex: unknown): Promise<{ revision: string }> {
    const contractId = hexParam(id, 32, 'contract id');
    if (typeof revisionHex !== 'string' || !/^([0-9a-fA-F]{2})+$/.test(revisionHex)) throw negotiatorError('EUSAGE', 'revision must be hex');
    let rev: Revision;
    try {
      rev = Revision.decode(Buffer.from(revisionHex, 'hex'));
    } catch (err) {
      if (isProtocolError(err)) throw negotiatorError('EUSAGE', err.message);
      throw err;
    }
    await this.ctx.synced();
    const e = await this.ctx.registry.getContract(contractId);
    if (!e) throw negotiatorError('ENOTFOUND', 'no such contract on chain');
    const terms = e.record.terms;
    if (!Buffer.from(this.ctx.identity.publicKey).equals(terms.hostKey)) throw negotiatorError('ENOTPARTY', 'this node is not the host of that contract');
    try {
      rev.checkFor(terms);
    } catch (err) {
      if (isProtocolError(err)) throw negotiatorError('EUSAGE', err.message);
      throw err;
    }
    const state = e.stateAt(this.ctx.node.chain.height);
    if (state !== 'active') throw negotiatorError('ECONFLICT', `the contract is ${state}: only a live contract's commitment changes`);
    if (!rev.verifyRenter(terms.renterKey)) throw negotiatorError('EUSAGE', 'the revision is not signed by the contract\'s renter');
    const latest = await this.ctx.store.commitment(contractId);
    const latestNumber = latest ? Revision.decode(Buffer.from(latest.revision, 'hex')).revision : 0;
    if (rev.revision <= latestNumber) throw negotiatorError('ECONFLICT', `revision ${rev.revision} is not above the latest, ${latestNumber}`);
    rev.signAsHost(this.ctx.identity.secretKey);
    const revision = rev.encode().toString('hex');
    await this.ctx.store.setCommitment(contractId, { revision, sectors: [] });
    this.ctx.node.logger.info(`negotiator: contract ${shortId(contractId)}: commitment revision ${rev.revision} countersigned (${rev.sectorCount} sectors, ${rev.totalBytes} bytes)`);
    return { revision };
  }
}
