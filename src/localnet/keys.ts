/**
 * Keys of the local subnet that can be written to wallet files with their secret, so the `flock`
 * commands (miner submit, owner publish, validator run) work with the local subnet's wallets.
 * A dev URI key (`//Alice`) has no exportable secret through the keyring, so the dev account is
 * derived here from the well-known dev phrase.
 */
import { createHash } from 'node:crypto';
import { DEV_PHRASE } from '@polkadot/keyring';
import { keyExtractSuri, keyFromPath, mnemonicToMiniSecret, sr25519PairFromSeed } from '@polkadot/util-crypto';
import { divideScalarByCofactor, keypairFromPrivateKey, keypairFromSeed, type WalletKeypair } from '../chain/index.js';

/** A deterministic key for a local subnet role (`miner-good`, `validator-1`, …). */
export function localKey(label: string): Promise<WalletKeypair> {
  return keypairFromSeed(createHash('sha256').update(`flock-localnet/${label}`).digest());
}

/** A dev account (`Alice`, `Bob`, …) as a keypair that keeps its private key. */
export async function devKey(name: string): Promise<WalletKeypair> {
  const { path } = keyExtractSuri(`${DEV_PHRASE}//${name}`);
  const root = sr25519PairFromSeed(mnemonicToMiniSecret(DEV_PHRASE));
  const derived = keyFromPath(root, path, 'sr25519');
  const canonical = new Uint8Array(64);
  canonical.set(divideScalarByCofactor(derived.secretKey.subarray(0, 32)), 0);
  canonical.set(derived.secretKey.subarray(32, 64), 32);
  return keypairFromPrivateKey(canonical, derived.publicKey);
}
