import type { PendingReveal, SetWeightsParams, TxResult } from '../../chain.js';
import type { SubtensorClient } from '../client.js';
import { commitHash, makeSalt } from '../commit-reveal.js';
import { ChainDispatchError, NotRegisteredError } from '../errors.js';
import { submitExtrinsic } from '../submit.js';
import { getSubnetInfo } from './getSubnetInfo.js';
import { getUid } from './getUid.js';
import { checkWeightsRateLimit, explainTooFast, weightsForEmit } from './setWeights.js';

export type CommitWeightsParameters = SetWeightsParams & { salt?: number[] };
export type CommitWeightsReturnType = PendingReveal & TxResult;

/**
 * Commit weights on a commit-reveal subnet (`SubtensorModule.commit_weights`): the hash of
 * (hotkey, netuid, uids, values, salt, version key); keep the result and pass it to
 * `revealWeights` in the reveal epoch.
 * RPC: author_submitAndWatchExtrinsic.
 * @example const pending = await commitWeights(client, { netuid: 1, uids: [0, 1], weights: [1, 2], versionKey: 1000, signer: hotkey })
 */
export async function commitWeights(client: SubtensorClient, p: CommitWeightsParameters): Promise<CommitWeightsReturnType> {
  const info = await getSubnetInfo(client, { netuid: p.netuid });
  const hotkey = p.signer.address;
  const uid = await getUid(client, { netuid: p.netuid, hotkey });
  if (uid === undefined) throw new NotRegisteredError(hotkey, p.netuid);
  if (!info.commitRevealEnabled) {
    throw new ChainDispatchError('SubtensorModule', 'CommitRevealDisabled', '', {
      details: [`subnet ${p.netuid} does not use commit-reveal`], hint: 'set weights directly with setWeights',
    });
  }
  const emit = weightsForEmit(info, p);
  if (p.checkRateLimit !== false) await checkWeightsRateLimit(client, info, uid);
  const salt = p.salt ?? makeSalt();
  const hash = commitHash({ hotkey, netuid: p.netuid, uids: emit.uids, values: emit.weights, salt, versionKey: p.versionKey });
  const tx = client.api.tx['subtensorModule']!['commitWeights']!(p.netuid, hash);
  try {
    const { events: _e, ...r } = await submitExtrinsic(client, tx, p.signer, 'commit_weights');
    return { ...r, netuid: p.netuid, hotkey, uids: emit.uids, values: emit.weights, salt, versionKey: p.versionKey, commitHash: hash, commitBlock: r.blockNumber };
  } catch (err) {
    return explainTooFast(client, err, p.netuid, uid, info.weightsRateLimit);
  }
}
