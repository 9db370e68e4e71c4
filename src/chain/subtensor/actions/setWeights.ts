import type { SetWeightsParams, SetWeightsResult } from '../../chain.js';
import type { SubtensorClient } from '../client.js';
import type { ChainDispatchError, NotRegisteredError, SettingWeightsTooFastError, SubnetNotFoundError, TransactionErrorType } from '../errors.js';
import { submitExtrinsic } from '../submit.js';
import { explainTooFast, prepareWeights } from '../weight-setting.js';

export type SetWeightsParameters = SetWeightsParams;
export type SetWeightsReturnType = SetWeightsResult;
export type SetWeightsErrorType = SettingWeightsTooFastError | NotRegisteredError | SubnetNotFoundError | ChainDispatchError | TransactionErrorType;

/**
 * Set the signer hotkey's weights on a subnet (`SubtensorModule.set_weights`, call index 0):
 * processed and converted as the Python SDK does, checked against the rate limit first.
 * RPC: state_queryStorageAt, author_submitAndWatchExtrinsic.
 * @example await setWeights(client, { netuid: 1, uids: [0, 1], weights: [0.3, 0.7], versionKey: 1000, signer: hotkey })
 */
export async function setWeights(client: SubtensorClient, p: SetWeightsParameters): Promise<SetWeightsReturnType> {
  const prepared = await prepareWeights(client, p, false);
  const { emit } = prepared;
  const tx = client.api.tx['subtensorModule']!['setWeights']!(p.netuid, emit.uids, emit.weights, p.versionKey);
  try {
    const { events: _e, ...r } = await submitExtrinsic(client, tx, p.signer, 'set_weights');
    return { ...r, uids: emit.uids, weights: emit.weights };
  } catch (err) {
    return explainTooFast(client, err, prepared);
  }
}
