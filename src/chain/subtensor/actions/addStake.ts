import type { Signer, TxResult } from '../../chain.js';
import type { SubtensorClient } from '../client.js';
import { submitExtrinsic } from '../submit.js';
import type { TransactionErrorType } from '../errors.js';

export interface AddStakeParameters {
  netuid: number;
  hotkey: string;
  /** TAO to stake. */
  amount: number;
  /** The coldkey that pays. */
  signer: Signer;
}
export type AddStakeReturnType = TxResult;
export type AddStakeErrorType = TransactionErrorType;

/**
 * Stake TAO from the signing coldkey to a hotkey on a subnet (`SubtensorModule.add_stake`).
 * RPC: author_submitAndWatchExtrinsic.
 * @example await addStake(client, { netuid: 1, hotkey, amount: 100, signer: coldkey })
 */
export async function addStake(client: SubtensorClient, p: AddStakeParameters): Promise<AddStakeReturnType> {
  const rao = BigInt(Math.round(p.amount * 1e9));
  const tx = client.api.tx['subtensorModule']!['addStake']!(p.hotkey, p.netuid, rao);
  const { events: _e, ...r } = await submitExtrinsic(client, tx, p.signer, 'add_stake');
  return r;
}
