/**
 * Signing and verifying published results (src/protocol/results.ts) with a validator's hotkey:
 * sr25519 over the document's canonical JSON, checked as the chain checks an extrinsic's signature.
 */
import { u8aToHex } from '@polkadot/util';
import { signatureVerify } from '@polkadot/util-crypto';
import type { KeyringPair } from '@polkadot/keyring/types';
import { resultsSigningBytes, type ResultsDocument, type SignedResults } from '../protocol/results.js';
import { cryptoReady } from './wallet/keypair.js';

/** Sign `document` with `pair` (its `validator` field must be the pair's address). */
export async function signResults(document: ResultsDocument, pair: KeyringPair): Promise<SignedResults> {
  await cryptoReady();
  if (document.validator !== pair.address) throw new TypeError(`the document names validator ${document.validator}, the key is ${pair.address}`);
  return { document, signature: u8aToHex(pair.sign(resultsSigningBytes(document))) };
}

/**
 * Check a results file's signature, and that its signer is `expectedSigner` (the hotkey whose
 * chain commitment points to the repo it came from). Never throws.
 */
export async function verifyResults(signed: SignedResults, expectedSigner: string): Promise<{ ok: true } | { ok: false; reason: string }> {
  await cryptoReady();
  if (signed.document.validator !== expectedSigner) {
    return { ok: false, reason: `the results are signed as ${signed.document.validator}, but the repo is the one ${expectedSigner} points to` };
  }
  let valid = false;
  try {
    valid = signatureVerify(resultsSigningBytes(signed.document), signed.signature, expectedSigner).isValid;
  } catch {
    valid = false;
  }
  return valid ? { ok: true } : { ok: false, reason: `the signature does not match the document and ${expectedSigner}'s key: altered after signing, or not signed by it` };
}
