/**
 * The wallet's unlock, checked (wallet/unlock.ts): bcoin alone takes a wrong
 * passphrase about once in 256 tries. The wallet here is bcoin's own, in
 * memory, its key derivation cut to one round so that such a passphrase is
 * found in a few hundred tries.
 */
import test from 'ava';
import { bcoin } from '../src/lib/chain/bcoin.js';
import { unlockChecked } from '../src/lib/wallet/unlock.js';

async function wallet(t: import('ava').ExecutionContext) {
  const wdb = new bcoin.wallet.WalletDB({ network: 'regtest', memory: true });
  await wdb.open();
  t.teardown(() => wdb.close());
  const w = wdb.primary;
  w.master.rounds = 1;
  await w.setPassphrase('right');
  await w.lock();
  return w;
}

test('the right passphrase unlocks; a wrong one is refused and leaves the wallet locked', async (t) => {
  const w = await wallet(t);
  await t.notThrowsAsync(unlockChecked(w, 'right'));
  await w.lock();
  await t.throwsAsync(unlockChecked(w, 'wrong'));
  t.is(w.master.key, null);
});

test('a wrong passphrase whose decryption bcoin accepts is refused', async (t) => {
  const w = await wallet(t);
  let fooled: string | null = null;
  for (let i = 0; i < 20_000 && fooled === null; i++) {
    try {
      await w.unlock(`wrong ${i}`);
      fooled = `wrong ${i}`;
    } catch {
      // bcoin refused it: the padding came out wrong, as it mostly does.
    }
    await w.lock();
  }
  t.not(fooled, null, 'bcoin took some wrong passphrase');
  await t.throwsAsync(unlockChecked(w, fooled!), { message: /^Could not decrypt/ });
  t.is(w.master.key, null);
  await t.notThrowsAsync(unlockChecked(w, 'right'));
});
