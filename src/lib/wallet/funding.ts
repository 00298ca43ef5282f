/**
 * The daemon's wallet as a funder of contracts: it pays an exact share of a
 * funding transaction from its coins, and signs those inputs when the
 * transaction is assembled. Coins handed out stay reserved until released,
 * so two negotiations never spend the same coin.
 *
 * Signing needs the wallet's passphrase. A host answers negotiations while
 * nobody is at the keyboard, so the daemon keeps the passphrase it was started
 * with (CLOUDCOIN_PASSPHRASE, or the prompt at first start) in memory for this
 * alone, as lnd does after `unlock`; the wallet is locked again once no
 * signature is in progress. Without one, funding fails with a clear error.
 */
import { bcoin, type BcoinWallet, type BcoinWalletCoin } from '../chain/bcoin.js';
import { hashType, Script, type BMTX } from '../chain/primitives.js';
import { CloudCoinError, ExitCode } from '../errors.js';

/** Smallest change worth an output: below it bcoin's relay policy calls the output dust. */
const MIN_CHANGE = 1000;
const COINBASE_MATURITY = 100;

export interface FundingCoinShare {
  hash: Uint8Array;
  index: number;
  value: number;
  script: Uint8Array;
}

export interface FundingShare {
  coins: FundingCoinShare[];
  changeScript: Uint8Array;
  changeValue: number;
}

/** Signatures in progress on each wallet, whichever WalletFunder makes them: the last one to finish locks it. */
const signing = new WeakMap<BcoinWallet, number>();

/**
 * Coins of each wallet handed out to fundings and not released, whichever
 * WalletFunder handed them out. bcoin's coin lock alone is not enough: bcoin
 * drops it as soon as it indexes the transaction spending the coin, and a
 * coin list read just before that still shows the coin unspent, so a share
 * taken while the previous funding was being indexed got that funding's coin
 * and its own funding was refused as a double spend.
 */
const reserved = new WeakMap<BcoinWallet, Set<string>>();

function reservedOf(wallet: BcoinWallet): Set<string> {
  let set = reserved.get(wallet);
  if (!set) reserved.set(wallet, (set = new Set()));
  return set;
}

/** bcoin's hex hash (internal byte order) and the output index. */
function outpointKey(hash: string, index: number): string {
  return `${hash}:${index}`;
}

export class WalletFunder {
  constructor(
    private readonly wallet: BcoinWallet,
    private readonly height: () => number,
    private readonly passphrase: string | undefined,
  ) {}

  /** Coins paying exactly `amount` after change, locked until released. */
  async share(amount: number): Promise<FundingShare> {
    if (!Number.isSafeInteger(amount) || amount <= 0) throw new RangeError(`amount must be a positive integer, got ${amount}`);
    const tip = this.height();
    const held = reservedOf(this.wallet);
    // The wallet's own payments (`wallet send`) choose, sign and index their coins under
    // this lock without locking the coins: taken here too, a share never picks a coin a
    // payment is spending.
    const unlock = await this.wallet.fundLock.lock();
    let picked: BcoinWalletCoin[];
    let change: number;
    try {
      const coins = (await this.wallet.getCoins())
        .filter((c) => c.height !== -1 && !this.wallet.isLocked(c) && !held.has(outpointKey(c.hash, c.index)))
        .filter((c) => !c.coinbase || tip + 1 >= c.height + COINBASE_MATURITY)
        .sort((a, b) => b.value - a.value);
      picked = [];
      let total = 0;
      for (const coin of coins) {
        picked.push(coin);
        total += coin.value;
        if (total - amount === 0 || total - amount >= MIN_CHANGE) break;
      }
      change = total - amount;
      if (change < 0 || (change > 0 && change < MIN_CHANGE)) {
        throw new CloudCoinError('EFUNDS', `insufficient confirmed funds for a contract share of ${amount} base units`, ExitCode.funds);
      }
      // bcoin's lock as well keeps the wallet's own payments off these coins.
      for (const coin of picked) {
        held.add(outpointKey(coin.hash, coin.index));
        this.wallet.lockCoin(coin);
      }
    } finally {
      unlock();
    }
    const changeScript = change > 0 ? Script.fromAddress(await this.wallet.changeAddress()) : null;
    return {
      coins: picked.map((c) => ({ hash: Buffer.from(c.hash, 'hex'), index: c.index, value: c.value, script: c.script.toRaw() })),
      changeScript: changeScript ? changeScript.toRaw() : new Uint8Array(0),
      changeValue: change,
    };
  }

  /**
   * Gives coins of a share back to the wallet, when its negotiation is refused
   * or forgotten; a coin its funding spent is out of the wallet's coins anyway.
   */
  release(share: FundingShare): void {
    const held = reservedOf(this.wallet);
    for (const c of share.coins) {
      const hash = Buffer.from(c.hash).toString('hex');
      held.delete(outpointKey(hash, c.index));
      this.wallet.unlockCoin(new bcoin.Outpoint(hash, c.index));
    }
  }

  /**
   * Signs exactly the inputs at `inputs`, each of which must spend a coin of
   * this wallet. Only those: the other party chooses its own inputs and could
   * list one of ours as its share, which a sign-everything-we-own signer
   * would then pay.
   */
  sign = async (mtx: BMTX, inputs: number[]): Promise<void> => {
    if (!this.passphrase) {
      throw new CloudCoinError('ELOCKED', 'the node holds no wallet passphrase: start it with CLOUDCOIN_PASSPHRASE to fund contracts', ExitCode.auth);
    }
    // Locking after each signature let one negotiation's lock zero the master
    // key between another's unlock and its key derivation, failing that
    // funding; with many at once the wallet stays unlocked until the last.
    signing.set(this.wallet, (signing.get(this.wallet) ?? 0) + 1);
    try {
      for (const index of inputs) {
        const input = mtx.inputs[index];
        const coin = input && mtx.view.getCoinFor(input);
        if (!coin) throw new RangeError(`input ${index} has no coin to sign for`);
        const ring = await this.wallet.getPrivateKey(coin.getAddress(), this.passphrase);
        if (!ring) throw new RangeError(`input ${index} does not spend a coin of this wallet`);
        if (!mtx.scriptInput(index, coin, ring) || !mtx.signInput(index, coin, ring, hashType.ALL)) {
          throw new RangeError(`input ${index} could not be signed`);
        }
      }
    } finally {
      const left = signing.get(this.wallet)! - 1;
      signing.set(this.wallet, left);
      if (left === 0) await this.wallet.lock();
    }
  };
}
