import type { Option } from '@polkadot/types';
import type { Codec } from '@polkadot/types/types';
import type { Commitment } from '../../chain.js';
import { num, request, storage, type SubtensorClient } from '../client.js';
import { fieldBytes, utf8 } from '../commitment-data.js';
import type { ChainRequestErrorType } from '../errors.js';

export interface GetCommitmentParameters {
  netuid: number;
  hotkey: string;
}
export type GetCommitmentReturnType = Commitment | undefined;
export type GetCommitmentErrorType = ChainRequestErrorType;

interface Registration {
  block: Codec;
  info: { fields: { type: string; value: Codec }[] };
}

/** A `Commitments.CommitmentOf` value as a Commitment. */
export function commitmentFrom(netuid: number, hotkey: string, value: Codec): Commitment {
  const reg = value as unknown as Registration;
  const fields = [...reg.info.fields].map(fieldBytes);
  return { netuid, hotkey, block: num(reg.block), data: fields.length ? utf8(fields[0]!) : '', fields };
}

/**
 * A hotkey's commitment on a subnet and the block it was stored at, or undefined.
 * RPC: state_getStorage (`Commitments.CommitmentOf`).
 * @example const c = await getCommitment(client, { netuid: 1, hotkey }); c?.data, c?.block
 */
export function getCommitment(client: SubtensorClient, p: GetCommitmentParameters): Promise<GetCommitmentReturnType> {
  return request(client, `reading the commitment of ${p.hotkey}`, async () => {
    const v = (await storage(client.api, 'commitments', 'commitmentOf')(p.netuid, p.hotkey)) as Option<Codec>;
    return v.isSome ? commitmentFrom(p.netuid, p.hotkey, v.unwrap()) : undefined;
  });
}
