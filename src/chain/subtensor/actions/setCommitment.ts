import type { Signer, TxResult } from '../../chain.js';
import { commitmentInfo } from '../commitment-data.js';
import type { SubtensorClient } from '../client.js';
import { submitExtrinsic } from '../submit.js';
import type { TransactionErrorType } from '../errors.js';

export interface SetCommitmentParameters {
  netuid: number;
  /** UTF-8 text, at most 128 bytes, stored as one Raw field. */
  data: string;
  /** The registered hotkey. */
  signer: Signer;
}
export type SetCommitmentReturnType = TxResult;
/** ChainDispatchError includes SpaceLimitExceededError (the epoch's commitment space is used). */
export type SetCommitmentErrorType = TransactionErrorType;

/**
 * Store `data` as the signer hotkey's commitment on a subnet (`Commitments.set_commitment`).
 * The chain limits space per epoch (`SpaceLimitExceeded`); the block of inclusion is the
 * commitment's block.
 * RPC: author_submitAndWatchExtrinsic.
 * @example await setCommitment(client, { netuid: 1, data: 'alice/ds:1:4f2c…', signer: hotkey })
 */
export async function setCommitment(client: SubtensorClient, p: SetCommitmentParameters): Promise<SetCommitmentReturnType> {
  const info = commitmentInfo(p.data);
  const tx = client.api.tx['commitments']!['setCommitment']!(p.netuid, info);
  const { events: _events, ...result } = await submitExtrinsic(client, tx, p.signer, 'set_commitment');
  return result;
}
