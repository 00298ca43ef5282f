/**
 * The node's Negotiator identity: one secp256k1 key that signs offers,
 * negotiation messages, contracts and ratings, and sits in the escrow
 * scripts. Generated at first start and kept in `<datadir>/negotiator.key`
 * (hex, mode 0600).
 *
 * It is stored unencrypted on purpose, as lnd keeps its node key: a host
 * answers proposes, signs contracts and funding while nobody is at the
 * keyboard, so the daemon must be able to use it unattended. Its funds are
 * the escrow branches, which need the wallet's coins to come into being;
 * the wallet itself stays encrypted with its passphrase.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudCoinError, ExitCode } from '../errors.js';
import { generateKeyPair, publicKeyOf, type KeyPair } from '../crypto/sig.js';

export const IDENTITY_FILE = 'negotiator.key';

/** The identity in `datadir`, created (mode 0600) if there is none yet. */
export function loadIdentity(datadir: string): KeyPair {
  const path = join(datadir, IDENTITY_FILE);
  if (!existsSync(path)) {
    const pair = generateKeyPair();
    writeFileSync(path, `${Buffer.from(pair.secretKey).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(path, 0o600);
    return pair;
  }
  const hex = readFileSync(path, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new CloudCoinError('EIDENTITY', `${path} does not hold a 32-byte hex key`, ExitCode.failure);
  const secretKey = Buffer.from(hex, 'hex');
  try {
    return { secretKey, publicKey: publicKeyOf(secretKey) };
  } catch {
    throw new CloudCoinError('EIDENTITY', `${path} does not hold a valid secp256k1 key`, ExitCode.failure);
  }
}
