/**
 * Puts the node's identity key in its own wallet (account 0), once, so the
 * settlement payouts to P2PKH(identity key) count in `wallet balance`. The
 * node's passphrase is set after the extensions open, so this runs as the
 * first step of the fulfilment loop rather than in open(). Without a
 * passphrase the wallet stays locked: one log line, and the next round
 * looks again.
 */
import type { KeyPair } from '../../crypto/sig.js';
import type { NodeAdapter } from './adapter.js';
import type { FulfilmentStep } from './fulfilment-loop.js';

export class WalletKeyImport implements FulfilmentStep {
  readonly name = 'identity key import';
  private done = false;
  private warned = false;

  constructor(private readonly node: NodeAdapter, private readonly identity: KeyPair) {}

  async run(): Promise<void> {
    if (this.done) return;
    const passphrase = this.node.wallet.passphrase;
    if (!passphrase) {
      if (!this.warned) this.node.logger.warning('negotiator: no wallet passphrase: the identity key is not in the wallet, settlement payouts will not show in its balance');
      this.warned = true;
      return;
    }
    const added = await this.node.wallet.importKey(this.identity.secretKey, passphrase);
    if (added) this.node.logger.info('negotiator: identity key imported into the wallet (account 0) for settlement payouts');
    this.done = true;
  }
}
