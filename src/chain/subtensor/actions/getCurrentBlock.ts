import { compactToU8a, hexToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsU8a } from '@polkadot/util-crypto';
import type { BlockRef } from '../../chain.js';
import { request, type SubtensorClient } from '../client.js';
import type { ChainRequestErrorType } from '../errors.js';

export type GetCurrentBlockReturnType = BlockRef;
export type GetCurrentBlockErrorType = ChainRequestErrorType;

/** A block header as `chain_getHeader` returns it (digest items are SCALE-encoded hex). */
export interface HeaderJson {
  parentHash: string;
  number: string;
  stateRoot: string;
  extrinsicsRoot: string;
  digest: { logs: string[] };
}

/** A header's hash: blake2-256 of its SCALE encoding (the block number is a compact u32). */
export function headerHash(h: HeaderJson): string {
  const encoded = u8aConcat(
    hexToU8a(h.parentHash), compactToU8a(Number(h.number)), hexToU8a(h.stateRoot), hexToU8a(h.extrinsicsRoot),
    compactToU8a(h.digest.logs.length), ...h.digest.logs.map((log) => hexToU8a(log)),
  );
  return u8aToHex(blake2AsU8a(encoded, 256));
}

/**
 * The best block's number and hash. The header is taken as raw JSON and hashed here: the validator
 * asks after every evaluation, and decoding it through the api's type registry cost ~3 ms each time.
 * RPC: chain_getHeader.
 * @example const { number, hash } = await getCurrentBlock(client)
 */
export function getCurrentBlock(client: SubtensorClient): Promise<GetCurrentBlockReturnType> {
  return request(client, 'reading the current block', async () => {
    const header = await client.provider.send<HeaderJson>('chain_getHeader', []);
    return { number: Number(header.number), hash: headerHash(header) };
  });
}
