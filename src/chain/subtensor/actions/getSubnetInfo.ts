import { encodeAddress } from '@polkadot/util-crypto';
import type { BlockRef, SubnetInfo } from '../../chain.js';
import { SS58_FORMAT } from '../../wallet/keypair.js';
import { hasStorage, num, request, storage, type SubtensorClient } from '../client.js';
import { SubnetNotFoundError, type ChainRequestErrorType } from '../errors.js';
import { getCurrentBlock } from './getCurrentBlock.js';

export interface GetSubnetInfoParameters {
  netuid: number;
  /** Read at this block (default: the current one). */
  at?: BlockRef;
}
export type GetSubnetInfoReturnType = SubnetInfo & { block: BlockRef };
export type GetSubnetInfoErrorType = SubnetNotFoundError | ChainRequestErrorType;

const RAO = 1e9;

/**
 * The epoch schedule runtimes without `LastEpochBlock` use (finney's metadata of 2026-04, the
 * devnet): an epoch runs at block b when `(b + netuid + 1) % (tempo + 1) == 0`.
 */
export function legacyEpochSchedule(block: number, netuid: number, tempo: number): { lastEpochBlock: number; nextEpochBlock: number } {
  if (tempo === 0) return { lastEpochBlock: 0, nextEpochBlock: Number.MAX_SAFE_INTEGER };
  const r = (block + netuid + 1) % (tempo + 1);
  return { lastEpochBlock: Math.max(0, block - r), nextEpochBlock: block + (tempo + 1 - r) };
}

/**
 * A subnet's tempo, epoch schedule, weight rules, commit-reveal setting and owner, read from
 * `SubtensorModule` storage at one block.
 *
 * With `LastEpochBlock` in the runtime (subtensor HEAD) the next epoch is `LastEpochBlock + Tempo`;
 * without it, the legacy schedule (`legacyEpochSchedule`).
 * RPC: state_queryStorageAt.
 * @example const { tempo, nextEpochBlock } = await getSubnetInfo(client, { netuid: 1 })
 */
export async function getSubnetInfo(client: SubtensorClient, p: GetSubnetInfoParameters): Promise<GetSubnetInfoReturnType> {
  const block = p.at ?? await getCurrentBlock(client);
  return request(client, `reading subnet ${p.netuid}`, async () => {
    const at = await client.api.at(block.hash);
    const q = (item: string) => storage(at, 'subtensorModule', item)(p.netuid);
    const [added, tempo, n, maxUids, rateLimit, versionKey, minWeights, maxWeights, cr, reveal, ownerHot, ownerCold, burn] = await Promise.all([
      q('networksAdded'), q('tempo'), q('subnetworkN'), q('maxAllowedUids'), q('weightsSetRateLimit'), q('weightsVersionKey'),
      q('minAllowedWeights'), q('maxWeightsLimit'), q('commitRevealWeightsEnabled'), q('revealPeriodEpochs'),
      q('subnetOwnerHotkey'), q('subnetOwner'), q('burn'),
    ]);
    if (added.toString() !== 'true') throw new SubnetNotFoundError(p.netuid);
    const t = num(tempo);
    let lastEpochBlock: number;
    let nextEpochBlock: number;
    if (hasStorage(at, 'subtensorModule', 'lastEpochBlock')) {
      lastEpochBlock = num(await q('lastEpochBlock'));
      nextEpochBlock = lastEpochBlock + t;
    } else {
      ({ lastEpochBlock, nextEpochBlock } = legacyEpochSchedule(block.number, p.netuid, t));
    }
    return {
      block,
      netuid: p.netuid,
      tempo: t,
      lastEpochBlock,
      nextEpochBlock,
      n: num(n),
      maxAllowedUids: num(maxUids),
      weightsRateLimit: num(rateLimit),
      weightsVersionKey: num(versionKey),
      minAllowedWeights: num(minWeights),
      maxWeightLimit: num(maxWeights) / 65535,
      commitRevealEnabled: cr.toString() === 'true',
      revealPeriodEpochs: num(reveal),
      ownerHotkey: encodeAddress(ownerHot.toU8a(), SS58_FORMAT),
      ownerColdkey: encodeAddress(ownerCold.toU8a(), SS58_FORMAT),
      burn: num(burn) / RAO,
    };
  });
}
