import type { Option, u16 } from '@polkadot/types';
import { request, storage, type SubtensorClient } from '../client.js';
import type { ChainRequestErrorType } from '../errors.js';

export interface GetUidParameters {
  netuid: number;
  hotkey: string;
}
export type GetUidReturnType = number | undefined;
export type GetUidErrorType = ChainRequestErrorType;

/**
 * The uid of a hotkey on a subnet (`SubtensorModule.Uids`), or undefined when not registered.
 * RPC: state_getStorage.
 * @example const uid = await getUid(client, { netuid: 1, hotkey: '5F…' })
 */
export function getUid(client: SubtensorClient, p: GetUidParameters): Promise<GetUidReturnType> {
  return request(client, `reading the uid of ${p.hotkey}`, async () => {
    const v = (await storage(client.api, 'subtensorModule', 'uids')(p.netuid, p.hotkey)) as Option<u16>;
    return v.isSome ? v.unwrap().toNumber() : undefined;
  });
}
