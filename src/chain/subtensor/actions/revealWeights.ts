import type { PendingReveal, Signer, TxResult } from '../../chain.js';
import type { SubtensorClient } from '../client.js';
import { submitExtrinsic } from '../submit.js';
import type { TransactionErrorType } from '../errors.js';

export interface RevealWeightsParameters {
  pending: PendingReveal;
  signer: Signer;
}
export type RevealWeightsReturnType = TxResult;
/** ChainDispatchError includes ExpiredWeightCommitError (too late: commit again). */
export type RevealWeightsErrorType = TransactionErrorType;

/**
 * Reveal committed weights (`SubtensorModule.reveal_weights`) in the reveal epoch; the chain
 * checks the hash and then the usual weight rules (without the rate limit).
 * RPC: author_submitAndWatchExtrinsic.
 * @example await revealWeights(client, { pending, signer: hotkey })
 */
export async function revealWeights(client: SubtensorClient, p: RevealWeightsParameters): Promise<RevealWeightsReturnType> {
  const { netuid, uids, values, salt, versionKey } = p.pending;
  const tx = client.api.tx['subtensorModule']!['revealWeights']!(netuid, uids, values, salt, versionKey);
  const { events: _e, ...r } = await submitExtrinsic(client, tx, p.signer, 'reveal_weights');
  return r;
}
