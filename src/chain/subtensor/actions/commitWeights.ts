import type { PendingReveal, SetWeightsParams, TxResult } from '../../chain.js';
import type { SubtensorClient } from '../client.js';
import { commitHash, makeSalt } from '../commit-reveal.js';
import type { ChainDispatchError, NotRegisteredError, SettingWeightsTooFastError, SubnetNotFoundError, TransactionErrorType } from '../errors.js';
import { submitExtrinsic } from '../submit.js';
import { explainTooFast, prepareWeights } from '../weight-setting.js';

export type CommitWeightsParameters = SetWeightsParams & { salt?: number[] };
export type CommitWeightsReturnType = PendingReveal & TxResult;
export type CommitWeightsErrorType = SettingWeightsTooFastError | NotRegisteredError | SubnetNotFoundError | ChainDispatchError | TransactionErrorType;

/**
 * Commit weights on a commit-reveal subnet (`SubtensorModule.commit_weights`): the hash of
 * (hotkey, netuid, uids, values, salt, version key); keep the result and pass it to
 * `revealWeights` in the reveal epoch.
 * RPC: author_submitAndWatchExtrinsic.
 * @example const pending = await commitWeights(client, { netuid: 1, uids: [0, 1], weights: [1, 2], versionKey: 1000, signer: hotkey })
 */
export async function commitWeights(client: SubtensorClient, p: CommitWeightsParameters): Promise<CommitWeightsReturnType> {
  const prepared = await prepareWeights(client, p, true);
  const { hotkey, emit } = prepared;
  const salt = p.salt ?? makeSalt();
  const hash = commitHash({ hotkey, netuid: p.netuid, uids: emit.uids, values: emit.weights, salt, versionKey: p.versionKey });
  const tx = client.api.tx['subtensorModule']!['commitWeights']!(p.netuid, hash);
  try {
    const { events: _e, ...r } = await submitExtrinsic(client, tx, p.signer, 'commit_weights');
    return { ...r, netuid: p.netuid, hotkey, uids: emit.uids, values: emit.weights, salt, versionKey: p.versionKey, commitHash: hash, commitBlock: r.blockNumber };
  } catch (err) {
    return explainTooFast(client, err, prepared);
  }
}
