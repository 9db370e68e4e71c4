/**
 * What setting weights directly and committing them share: the checks before anything is sent
 * (registered, the subnet's commit-reveal mode, the rate limit), the weights as the SDK emits
 * them, and the chain's rate-limit refusal turned into a message with the numbers.
 */
import type { SetWeightsParams, SubnetInfo } from '../chain.js';
import { FlockError } from '../../util/errors.js';
import { request, storage, nums, type SubtensorClient } from './client.js';
import { ChainDispatchError, NotRegisteredError, SettingWeightsTooFastError } from './errors.js';
import { convertWeightsAndUidsForEmit, processWeightsForNetuid, type EmitWeights } from './weights.js';
import { getSubnetInfo, type GetSubnetInfoReturnType } from './actions/getSubnetInfo.js';
import { getUid } from './actions/getUid.js';

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

/** What a weight transaction is built from, once the checks passed. */
export interface PreparedWeights {
  info: GetSubnetInfoReturnType;
  uid: number;
  hotkey: string;
  emit: EmitWeights;
}

/**
 * The checks both ways of sending weights make first: the signer is registered, the subnet is in
 * the mode this call is for (`commitReveal`: commit_weights, else set_weights), the rate limit has
 * passed (unless `checkRateLimit` is false); and the weights as they will be sent.
 */
export async function prepareWeights(client: SubtensorClient, p: SetWeightsParams, commitReveal: boolean): Promise<PreparedWeights> {
  const info = await getSubnetInfo(client, { netuid: p.netuid });
  const hotkey = p.signer.address;
  const uid = await getUid(client, { netuid: p.netuid, hotkey });
  if (uid === undefined) throw new NotRegisteredError(hotkey, p.netuid);
  if (info.commitRevealEnabled !== commitReveal) {
    throw info.commitRevealEnabled
      ? new ChainDispatchError('SubtensorModule', 'CommitRevealEnabled', '', {
          details: [`subnet ${p.netuid} uses commit-reveal: weights must be committed, then revealed ${info.revealPeriodEpochs} epoch(s) later`],
          hint: 'use commitWeights / revealWeights',
        })
      : new ChainDispatchError('SubtensorModule', 'CommitRevealDisabled', '', {
          details: [`subnet ${p.netuid} does not use commit-reveal`], hint: 'set weights directly with setWeights',
        });
  }
  const emit = weightsForEmit(info, p);
  if (p.checkRateLimit !== false) await checkWeightsRateLimit(client, info, uid);
  return { info, uid, hotkey, emit };
}

/** Rethrow a failed weight transaction, the chain's SettingWeightsTooFast as the message with the numbers. */
export async function explainTooFast(client: SubtensorClient, err: unknown, prepared: PreparedWeights): Promise<never> {
  if (err instanceof ChainDispatchError && /WeightsTooFast$/.test(err.error)) {
    const last = await lastUpdateOf(client, prepared.info.netuid, prepared.uid);
    const now = (await client.api.rpc.chain.getHeader()).number.toNumber();
    throw new SettingWeightsTooFastError(now - last, prepared.info.weightsRateLimit);
  }
  throw err;
}
