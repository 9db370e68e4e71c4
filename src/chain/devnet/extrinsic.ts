/**
 * Transaction validity on the devnet, as finney's signed extensions define it: a signed extrinsic
 * whose sr25519 (or ed25519/ecdsa) signature covers the call, era, nonce, tip, metadata-hash mode,
 * spec and transaction versions, genesis hash and the era's birth block hash; a nonce that is not
 * stale; an era that is still alive. Failures carry Substrate's JSON-RPC error text (1010).
 */
import type { Extrinsic } from '@polkadot/types/interfaces';
import { signatureVerify, blake2AsU8a } from '@polkadot/util-crypto';
import type { RuntimeMeta } from './metadata.js';

/** A transaction refused by the pool, with the code and data Substrate would answer. */
export class InvalidTransaction extends Error {
  constructor(readonly data: string, readonly code = 1010, message = 'Invalid Transaction') {
    super(message);
  }
}

export interface ChainView {
  genesisHash: string;
  /** Number of the block the transaction would go into. */
  nextNumber: number;
  /** Hash of block `n`, if known. */
  blockHash(n: number): string | undefined;
  /** On-chain nonce of an account. */
  accountNonce(who: string): number;
}

export interface ValidTransaction {
  signer: string;
  nonce: number;
}

/** Decode a hex extrinsic with the finney registry (throws InvalidTransaction on garbage). */
export function decodeExtrinsic(meta: RuntimeMeta, hex: string): Extrinsic {
  try {
    return meta.registry.createType('Extrinsic', hex);
  } catch (err) {
    throw new InvalidTransaction(`Could not decode extrinsic: ${(err as Error).message}`, 1002, 'Verification Error');
  }
}

/** Check a signed extrinsic's signature, era and nonce against the chain (stale nonce → outdated). */
export function validateExtrinsic(meta: RuntimeMeta, ext: Extrinsic, chain: ChainView): ValidTransaction {
  if (!ext.isSigned) throw new InvalidTransaction('Transaction call is not expected', 1010);
  const signer = ext.signer.toString();
  const era = ext.era;
  let birthHash = chain.genesisHash;
  if (era.isMortalEra) {
    const current = chain.nextNumber - 1;
    const mortal = era.asMortalEra;
    const birth = mortal.birth(current);
    const death = mortal.death(current);
    if (chain.nextNumber >= death) throw new InvalidTransaction('Transaction has an ancient birth block');
    const hash = chain.blockHash(birth);
    if (!hash) throw new InvalidTransaction('Transaction has an ancient birth block');
    birthHash = hash;
  }
  const inner = ext.inner as unknown as { signature: { mode?: { toNumber(): number }; multiSignature: { toU8a(): Uint8Array } } };
  const payload = meta.registry.createType('ExtrinsicPayload', {
    method: ext.method.toHex(),
    era,
    nonce: ext.nonce,
    tip: ext.tip,
    mode: inner.signature.mode?.toNumber() ?? 0,
    metadataHash: null,
    specVersion: meta.specVersion,
    transactionVersion: meta.transactionVersion,
    genesisHash: chain.genesisHash,
    blockHash: birthHash,
  }, { version: ext.version & 0x7f });
  let message = payload.toU8a({ method: true });
  if (message.length > 256) message = blake2AsU8a(message, 256);
  const ok = signatureVerify(message, inner.signature.multiSignature.toU8a(), signer).isValid;
  if (!ok) throw new InvalidTransaction('Transaction has a bad signature');
  const nonce = ext.nonce.toNumber();
  if (nonce < chain.accountNonce(signer)) throw new InvalidTransaction('Transaction is outdated');
  return { signer, nonce };
}
