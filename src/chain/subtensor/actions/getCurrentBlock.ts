import type { BlockRef } from '../../chain.js';
import { request, type SubtensorClient } from '../client.js';

export type GetCurrentBlockReturnType = BlockRef;

/**
 * The best block's number and hash.
 * RPC: chain_getHeader.
 * @example const { number, hash } = await getCurrentBlock(client)
 */
export function getCurrentBlock(client: SubtensorClient): Promise<GetCurrentBlockReturnType> {
  return request(client, 'reading the current block', async () => {
    const header = await client.api.rpc.chain.getHeader();
    return { number: header.number.toNumber(), hash: header.hash.toHex() };
  });
}
