import { request, type SubtensorClient } from '../client.js';
import type { HeaderJson } from './getCurrentBlock.js';
import type { ChainRequestErrorType } from '../errors.js';

export interface WatchBlocksParameters {
  onBlock: (number: number) => void;
}
export type WatchBlocksReturnType = () => Promise<void>;
export type WatchBlocksErrorType = ChainRequestErrorType;

/**
 * Call `onBlock` with the number of every new best block, starting with the current one, until
 * the returned function is called. The provider subscribes again by itself after a reconnect.
 * RPC: chain_subscribeNewHeads, chain_unsubscribeNewHeads.
 * @example const stop = await watchBlocks(client, { onBlock: (n) => console.log('block', n) }); … await stop()
 */
export async function watchBlocks(client: SubtensorClient, { onBlock }: WatchBlocksParameters): Promise<WatchBlocksReturnType> {
  const id = await request(client, 'following new blocks', () =>
    client.provider.subscribe('chain_newHead', 'chain_subscribeNewHeads', [], (err: Error | null, header: HeaderJson) => {
      if (!err && header) onBlock(Number(header.number));
    }));
  return async () => {
    if (client.closed || !client.provider.isConnected) return;
    await client.provider.unsubscribe('chain_newHead', 'chain_unsubscribeNewHeads', id).catch(() => undefined);
  };
}
