/**
 * The proof window of each network: how many blocks a host has to answer one
 * storage challenge. A day of blocks on main and test (Sia's proof window is
 * the same order); a few blocks on dev so tests and the devnet see windows
 * open and close without mining for long. Kept apart from networks.ts so the
 * negotiator's pure code can read it without loading bcoin.
 *
 * It must stay at most REFUND_DELAY (144): the last window then always closes
 * before the escrow's refund height.
 */
import { NETWORK_NAMES, type NetworkName } from './names.js';

const PROOF_WINDOWS: Record<NetworkName, number> = { main: 144, test: 144, dev: 4 };

/**
 * Blocks per proof window of a network, named as CloudCoin names it ('dev') or
 * as bcoin's registry does ('ccdev', see bcoinType).
 * @example proofWindowOf('main') // 144
 */
export function proofWindowOf(network: NetworkName | string): number {
  const name = network.startsWith('cc') ? network.slice(2) : network;
  if (!(NETWORK_NAMES as readonly string[]).includes(name)) throw new RangeError(`unknown network ${JSON.stringify(network)}`);
  return PROOF_WINDOWS[name as NetworkName];
}
