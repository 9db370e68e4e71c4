/**
 * sr25519 keypairs derived exactly as Bittensor's btwallet derives them: a BIP39 English mnemonic →
 * substrate mini secret (PBKDF2-HMAC-SHA512(entropy, "mnemonic", 2048)[0..32]) → sr25519, SS58
 * prefix 42. `@polkadot/keyring` does the curve work; this file converts between btwallet's
 * stored forms and the keyring's.
 *
 * Private keys: btwallet stores schnorrkel's canonical form (scalar ‖ nonce); the keyring wants the
 * "ed25519-expanded" form, whose scalar is the canonical one times the cofactor 8.
 */
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { u8aToHex } from '@polkadot/util';
import {
  cryptoWaitReady, decodeAddress, encodeAddress, mnemonicGenerate, mnemonicToMiniSecret, mnemonicValidate,
  sr25519PairFromSeed, sr25519Sign, sr25519Verify,
} from '@polkadot/util-crypto';
import { FlockError } from '../../util/errors.js';

/** Bittensor's SS58 address prefix. */
export const SS58_FORMAT = 42;

/** A key as a wallet holds it: always the public half, the secret half when it was loaded. */
export interface WalletKeypair {
  /** SS58 address (prefix 42). */
  address: string;
  /** 32-byte sr25519 public key. */
  publicKey: Uint8Array;
  /** The signing pair; absent for public-only keys (coldkeypub.txt). */
  pair?: KeyringPair;
  /** BIP39 phrase, when the key was made from one. */
  mnemonic?: string;
  /** 32-byte substrate mini secret, when known. */
  seed?: Uint8Array;
  /** 64-byte schnorrkel canonical secret (scalar ‖ nonce), when the key has a secret. */
  privateKey?: Uint8Array;
}

let ready: Promise<boolean> | undefined;
/** The wasm crypto must be initialised once before any key work. */
export function cryptoReady(): Promise<boolean> {
  ready ??= cryptoWaitReady();
  return ready;
}

function keyring(): Keyring {
  return new Keyring({ type: 'sr25519', ss58Format: SS58_FORMAT });
}

/** Multiply a 32-byte little-endian scalar by 8: schnorrkel canonical → polkadot-js (ed25519-expanded). */
export function multiplyScalarByCofactor(scalar: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  let carry = 0;
  for (let i = 0; i < 32; i++) {
    const b = scalar[i]!;
    out[i] = ((b << 3) | (carry >> 5)) & 0xff;
    carry = b & 0xe0;
  }
  return out;
}

/** Divide a 32-byte little-endian scalar by 8: polkadot-js (ed25519-expanded) → schnorrkel canonical. */
export function divideScalarByCofactor(scalar: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    const next = i < 31 ? scalar[i + 1]! : 0;
    out[i] = ((scalar[i]! >> 3) | ((next & 0x07) << 5)) & 0xff;
  }
  return out;
}

function canonicalFromExpanded(secretKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(64);
  out.set(divideScalarByCofactor(secretKey.subarray(0, 32)), 0);
  out.set(secretKey.subarray(32, 64), 32);
  return out;
}

function expandedFromCanonical(privateKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(64);
  out.set(multiplyScalarByCofactor(privateKey.subarray(0, 32)), 0);
  out.set(privateKey.subarray(32, 64), 32);
  return out;
}

/** A new English mnemonic (12, 15, 18, 21 or 24 words). */
export function generateMnemonic(words: 12 | 15 | 18 | 21 | 24 = 12): string {
  return mnemonicGenerate(words);
}

/**
 * The keypair btwallet derives from a mnemonic.
 * @example const k = await keypairFromMnemonic('old leopard transfer …'); k.address // '5HDvhV6…'
 */
export async function keypairFromMnemonic(mnemonic: string): Promise<WalletKeypair> {
  await cryptoReady();
  const phrase = mnemonic.trim().split(/\s+/).join(' ');
  if (!mnemonicValidate(phrase)) {
    throw new FlockError('invalid mnemonic: not a BIP39 English phrase with a valid checksum', {
      hint: 'check the words and their order (12, 15, 18, 21 or 24 words)',
    });
  }
  const key = await keypairFromSeed(mnemonicToMiniSecret(phrase));
  return { ...key, mnemonic: phrase };
}

/** The keypair of a 32-byte mini secret (`secretSeed`). */
export async function keypairFromSeed(seed: Uint8Array): Promise<WalletKeypair> {
  await cryptoReady();
  if (seed.length !== 32) throw new FlockError(`invalid seed: expected 32 bytes, got ${seed.length}`);
  const raw = sr25519PairFromSeed(seed);
  const pair = keyring().addFromPair(raw);
  return { address: pair.address, publicKey: raw.publicKey, pair, seed: Uint8Array.from(seed), privateKey: canonicalFromExpanded(raw.secretKey) };
}

/**
 * The keypair of a 64-byte schnorrkel canonical private key (`privateKey` in a keyfile) and the
 * public key stored beside it. The pair is checked by signing and verifying a probe message.
 */
export async function keypairFromPrivateKey(privateKey: Uint8Array, publicKey: Uint8Array): Promise<WalletKeypair> {
  await cryptoReady();
  if (privateKey.length !== 64) throw new FlockError(`invalid private key: expected 64 bytes, got ${privateKey.length}`);
  if (publicKey.length !== 32) throw new FlockError(`invalid public key: expected 32 bytes, got ${publicKey.length}`);
  const secretKey = expandedFromCanonical(privateKey);
  const probe = new Uint8Array([0x66, 0x6c, 0x6f, 0x63, 0x6b]);
  if (!sr25519Verify(probe, sr25519Sign(probe, { publicKey, secretKey }), publicKey)) {
    throw new FlockError('the keyfile\'s privateKey does not belong to its publicKey', { hint: 'regenerate the key from its mnemonic (flock wallet regen)' });
  }
  const pair = keyring().addFromPair({ publicKey, secretKey });
  return { address: pair.address, publicKey: Uint8Array.from(publicKey), pair, privateKey: Uint8Array.from(privateKey) };
}

/** Key from a dev URI such as `//Alice` (tests and the devnet). */
export async function keypairFromUri(uri: string): Promise<WalletKeypair> {
  await cryptoReady();
  const pair = keyring().addFromUri(uri);
  return { address: pair.address, publicKey: pair.publicKey, pair };
}

/** A public-only key from an SS58 address (any prefix; re-encoded with prefix 42). */
export function keypairFromAddress(address: string): WalletKeypair {
  let publicKey: Uint8Array;
  try {
    publicKey = decodeAddress(address);
  } catch {
    throw new FlockError(`invalid SS58 address "${address}"`, { hint: 'an address looks like 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY' });
  }
  return { address: encodeAddress(publicKey, SS58_FORMAT), publicKey };
}

/** A public-only key from its 32-byte public key. */
export function keypairFromPublicKey(publicKey: Uint8Array): WalletKeypair {
  return { address: encodeAddress(publicKey, SS58_FORMAT), publicKey: Uint8Array.from(publicKey) };
}

/** `0x…` hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  return u8aToHex(bytes);
}

