/**
 * Unlocking the node's wallet, checked. bcoin 1.0.2's MasterKey.unlock
 * decrypts the master key with AES-256-CBC and takes any plaintext whose
 * padding comes out valid: with a wrong passphrase that happens about once in
 * 256 tries, and the garbage is then read as the key (a CI run of `node start`
 * with a wrong passphrase started the node that way). A key unlocked so signs
 * nothing that spends the wallet's coins, and the daemon would keep the wrong
 * passphrase for contract funding. So the key is checked against what the
 * wallet already holds: its first account's public key, which bcoin derived
 * from the master key (BIP 44, account 0) when the wallet was made.
 */

/** The part of a bcoin Wallet this needs. */
export interface UnlockableWallet {
  network: { keyPrefix: { coinType: number } };
  master: { key: { deriveAccount(purpose: number, coinType: number, account: number): { toPublic(): { equals(other: unknown): boolean } } } | null };
  unlock(passphrase: string): Promise<unknown>;
  lock(): Promise<unknown>;
  getAccount(index: number): Promise<{ accountKey: unknown } | null>;
}

/**
 * Unlocks `wallet` with `passphrase`, or throws (bcoin's error, or a
 * "Could not decrypt" one of ours) and leaves it locked.
 */
export async function unlockChecked(wallet: UnlockableWallet, passphrase: string): Promise<void> {
  await wallet.unlock(passphrase);
  const account = await wallet.getAccount(0);
  const key = wallet.master.key;
  if (account && key && key.deriveAccount(44, wallet.network.keyPrefix.coinType, 0).toPublic().equals(account.accountKey)) return;
  await wallet.lock();
  throw new Error('Could not decrypt the master key: the passphrase does not open this wallet');
}
