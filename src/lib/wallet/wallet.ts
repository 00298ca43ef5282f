/**
 * The user's wallet: bcoin's primary wallet in the node, reached over the
 * wallet HTTP API. Amounts are integers of the base unit here; the CLI shows
 * them in CC.
 */
import type { NetworkName } from '../chain/names.js';
import { CloudCoinError, ExitCode } from '../errors.js';
import { NodeApiError, type NodeClient } from '../node/node-client.js';

const WALLET = '/wallet/primary';

export interface Balance {
  confirmed: number;
  unconfirmed: number;
}

export interface SendResult {
  txid: string;
  address: string;
  amount: number;
  fee: number;
}

export interface HistoryEntry {
  txid: string;
  height: number;
  confirmations: number;
  time: number;
  /** Net effect on this wallet in base units: positive received, negative spent. */
  amount: number;
  fee: number;
}

/** Loads bcoin only here: the other wallet calls need none of it. */
export async function checkAddress(address: string, network: NetworkName): Promise<void> {
  const [{ bcoin }, { getNetwork }] = await Promise.all([import('../chain/bcoin.js'), import('../chain/networks.js')]);
  try {
    bcoin.Address.fromString(address, getNetwork(network));
  } catch {
    throw new CloudCoinError('EBADADDRESS', `invalid address for the ${network} network: ${address}`, ExitCode.usage);
  }
}

export async function receiveAddress(client: NodeClient, fresh = false): Promise<string> {
  if (fresh) return (await client.wallet('POST', `${WALLET}/address`, { account: 'default' })).address;
  return (await client.wallet('GET', `${WALLET}/account/default`)).receiveAddress;
}

export async function getBalance(client: NodeClient): Promise<Balance> {
  const b = await client.wallet('GET', `${WALLET}/balance`);
  return { confirmed: b.confirmed, unconfirmed: b.unconfirmed };
}

export async function send(client: NodeClient, address: string, amount: number, passphrase: string): Promise<SendResult> {
  await checkAddress(address, client.runtime.network);
  // bcoin keeps a decrypted key for a minute after use and then accepts any
  // passphrase; locking first makes every send prove the passphrase again.
  await client.wallet('POST', `${WALLET}/lock`);
  try {
    const tx = await client.wallet('POST', `${WALLET}/send`, { outputs: [{ address, value: amount }], passphrase });
    return { txid: tx.hash, address, amount, fee: tx.fee };
  } catch (err) {
    throw walletError(err);
  } finally {
    await client.wallet('POST', `${WALLET}/lock`).catch(() => {});
  }
}

export async function history(client: NodeClient): Promise<HistoryEntry[]> {
  const txs: any[] = await client.wallet('GET', `${WALLET}/tx/history`);
  return txs
    .map((tx) => {
      const mine = (list: any[]) => list.filter((io) => io.path).reduce((sum, io) => sum + io.value, 0);
      return {
        txid: tx.hash,
        height: tx.height,
        confirmations: tx.confirmations,
        time: tx.mtime,
        amount: mine(tx.outputs) - mine(tx.inputs),
        fee: tx.fee,
      };
    })
    .sort((a, b) => b.time - a.time);
}

/** bcoin's wallet errors as the user should read them. */
function walletError(err: unknown): unknown {
  if (!(err instanceof NodeApiError)) return err;
  const m = err.message;
  if (/decrypt|passphrase/i.test(m)) return new CloudCoinError('EPASSPHRASE', 'wrong wallet passphrase', ExitCode.auth);
  if (/not enough funds|insufficient/i.test(m)) return new CloudCoinError('EFUNDS', `insufficient funds: ${m}`, ExitCode.funds);
  return new CloudCoinError('EWALLET', m, ExitCode.failure);
}
