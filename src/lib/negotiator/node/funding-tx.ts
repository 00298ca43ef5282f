/**
 * A contract's funding transaction, read from the block the registry found
 * it in: every settlement and refund spends its escrow outputs.
 */
import type { BTX } from '../../chain/primitives.js';
import { CloudCoinError, ExitCode } from '../../errors.js';
import type { ContractEntry } from '../entries.js';
import type { IndexedChain } from '../indexer.js';

export async function fundingTxOf(chain: IndexedChain, e: ContractEntry): Promise<BTX> {
  const entry = await chain.getEntryByHeight(e.height);
  const block = entry && await chain.getBlock(entry.hash);
  const tx = block?.txs.find((t: BTX) => t.hash().equals(e.txHash));
  // Not a domain code: the registry and the block store disagree, which the HTTP layer answers as an internal error.
  if (!tx) throw new CloudCoinError('EBLOCKSTORE', 'the funding transaction is not in the block store', ExitCode.failure);
  return tx;
}
