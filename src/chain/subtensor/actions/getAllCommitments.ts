import type { Option, StorageKey } from '@polkadot/types';
import type { Codec } from '@polkadot/types/types';
import { encodeAddress } from '@polkadot/util-crypto';
import type { Commitment } from '../../chain.js';
import { SS58_FORMAT } from '../../wallet/keypair.js';
import { request, storage, type SubtensorClient } from '../client.js';
import { commitmentFrom } from './getCommitment.js';
import type { ChainRequestErrorType } from '../errors.js';

export interface GetAllCommitmentsParameters {
  netuid: number;
}
export type GetAllCommitmentsReturnType = Commitment[];
export type GetAllCommitmentsErrorType = ChainRequestErrorType;

/**
 * Every commitment under a subnet (`Commitments.CommitmentOf` entries), oldest block first.
 * RPC: state_getKeysPaged, state_queryStorageAt.
 * @example for (const c of await getAllCommitments(client, { netuid: 1 })) console.log(c.hotkey, c.block, c.data)
 */
export function getAllCommitments(client: SubtensorClient, p: GetAllCommitmentsParameters): Promise<GetAllCommitmentsReturnType> {
  return request(client, `reading the commitments of subnet ${p.netuid}`, async () => {
    const entries = (await storage(client.api, 'commitments', 'commitmentOf').entries(p.netuid)) as [StorageKey, Codec][];
    const out: Commitment[] = [];
    for (const [key, value] of entries) {
      const opt = value as Option<Codec>;
      const inner = 'isSome' in opt ? (opt.isSome ? opt.unwrap() : undefined) : value;
      if (!inner) continue;
      out.push(commitmentFrom(p.netuid, encodeAddress(key.args[1]!.toU8a(), SS58_FORMAT), inner));
    }
    return out.sort((a, b) => a.block - b.block || a.hotkey.localeCompare(b.hotkey));
  });
}
