/** One node of a devnet, as devnet.json records it; apart from devnet.ts so that contracts.ts can use it without importing devnet.ts back. */
export interface Participant {
  name: string;
  role: 'renter' | 'host';
  datadir: string;
  pid: number;
  port: number;
  httpPort: number;
  walletPort: number;
  address: string;
  /** A host's file server, run by `cloudcoin serve` next to its node. */
  serverUrl?: string;
  serverPort?: number;
}
