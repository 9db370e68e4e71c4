import type { SetWeightsParams, SetWeightsResult, SubnetInfo } from '../../chain.js';
import { FlockError } from '../../../util/errors.js';
import { request, storage, nums, type SubtensorClient } from '../client.js';
import { ChainDispatchError, NotRegisteredError, SettingWeightsTooFastError } from '../errors.js';
import { submitExtrinsic } from '../submit.js';
import { convertWeightsAndUidsForEmit, processWeightsForNetuid, type EmitWeights } from '../weights.js';
import { getSubnetInfo } from './getSubnetInfo.js';
import { getUid } from './getUid.js';

export type SetWeightsParameters = SetWeightsParams;
export type SetWeightsReturnType = SetWeightsResult;
export type SetWeightsErrorType = SettingWeightsTooFastError | NotRegisteredError | ChainDispatchError;

/** The weights as the SDK sends them: processed for the subnet (optional), then u16. */
export function weightsForEmit(info: SubnetInfo, p: Pick<SetWeightsParams, 'uids' | 'weights' | 'process'>): EmitWeights {
  if (p.uids.length !== p.weights.length) throw new FlockError(`uids and weights differ in length (${p.uids.length} vs ${p.weights.length})`);
  const processed = p.process === false ? { uids: p.uids, weights: p.weights } : processWeightsForNetuid({
    uids: p.uids, weights: p.weights, n: info.n, minAllowedWeights: info.minAllowedWeights, maxWeightLimit: info.maxWeightLimit,
  });
  return convertWeightsAndUidsForEmit(processed.uids, processed.weights);
}

/** Blocks since a uid last set weights (`LastUpdate`), read at the current block. */
export async function lastUpdateOf(client: SubtensorClient, netuid: number, uid: number): Promise<number> {
  return request(client, 'reading LastUpdate', async () => {
    const v = nums(await storage(client.api, 'subtensorModule', 'lastUpdate')(netuid));
    return v[uid] ?? 0;
  });
}

/** Refuse before submitting when the chain would: `block − LastUpdate ≥ WeightsSetRateLimit` at the next block. */
export async function checkWeightsRateLimit(client: SubtensorClient, info: SubnetInfo & { block: { number: number } }, uid: number): Promise<void> {
  const last = await lastUpdateOf(client, info.netuid, uid);
  const since = info.block.number - last;
  if (last !== 0 && since + 1 < info.weightsRateLimit) throw new SettingWeightsTooFastError(since, info.weightsRateLimit);
}

/** Turn the chain's SettingWeightsTooFast into the message with the numbers. */
export async function explainTooFast(client: SubtensorClient, err: unknown, netuid: number, uid: number, rateLimit: number): Promise<never> {
  if (err instanceof ChainDispatchError && /WeightsTooFast$/.test(err.error)) {
    const last = await lastUpdateOf(client, netuid, uid);
    const now = (await client.api.rpc.chain.getHeader()).number.toNumber();
    throw new SettingWeightsTooFastError(now - last, rateLimit);
  }
  throw err;
}

/**
 * Set the signer hotkey's weights on a subnet (`SubtensorModule.set_weights`, call index 0):
 * processed and converted as the Python SDK does, checked against the rate limit first.
 * RPC: state_queryStorageAt, author_submitAndWatchExtrinsic.
 * @example await setWeights(client, { netuid: 1, uids: [0, 1], weights: [0.3, 0.7], versionKey: 1000, signer: hotkey })
 */
export async function setWeights(client: SubtensorClient, p: SetWeightsParameters): Promise<SetWeightsReturnType> {
  const info = await getSubnetInfo(client, { netuid: p.netuid });
  const hotkey = p.signer.address;
  const uid = await getUid(client, { netuid: p.netuid, hotkey });
  if (uid === undefined) throw new NotRegisteredError(hotkey, p.netuid);
  if (info.commitRevealEnabled) {
    throw new ChainDispatchError('SubtensorModule', 'CommitRevealEnabled', '', {
      details: [`subnet ${p.netuid} uses commit-reveal: weights must be committed, then revealed ${info.revealPeriodEpochs} epoch(s) later`],
      hint: 'use commitWeights / revealWeights',
    });
  }
  const emit = weightsForEmit(info, p);
  if (p.checkRateLimit !== false) await checkWeightsRateLimit(client, info, uid);
  const tx = client.api.tx['subtensorModule']!['setWeights']!(p.netuid, emit.uids, emit.weights, p.versionKey);
  try {
    const { events: _e, ...r } = await submitExtrinsic(client, tx, p.signer, 'set_weights');
    return { ...r, uids: emit.uids, weights: emit.weights };
  } catch (err) {
    return explainTooFast(client, err, p.netuid, uid, info.weightsRateLimit);
  }
}
