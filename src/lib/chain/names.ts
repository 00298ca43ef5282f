/**
 * The names of CloudCoin's networks, apart from their parameters so that
 * commands which only read settings do not load bcoin.
 */
export const NETWORK_NAMES = ['main', 'test', 'dev'] as const;
export type NetworkName = (typeof NETWORK_NAMES)[number];

export function isNetworkName(name: string): name is NetworkName {
  return (NETWORK_NAMES as readonly string[]).includes(name);
}
