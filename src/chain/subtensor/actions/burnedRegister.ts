import type { Signer, TxResult } from '../../chain.js';
import { FlockError } from '../../../util/errors.js';
import type { SubtensorClient } from '../client.js';
import { findEvent, submitExtrinsic } from '../submit.js';
import { getUid } from './getUid.js';
import type { TransactionErrorType } from '../errors.js';

export interface BurnedRegisterParameters {
  netuid: number;
  /** The hotkey to register (SS58). */
  hotkey: string;
  /** The coldkey that pays the burn. */
  signer: Signer;
}
export type BurnedRegisterReturnType = TxResult & { uid: number };
/** FlockError: included, yet the hotkey has no uid (the chain did not register it). */
export type BurnedRegisterErrorType = TransactionErrorType | FlockError;

/**
 * Register a hotkey on a subnet by burning the registration cost from the signing coldkey
 * (`SubtensorModule.burned_register`). Resolves with the uid it got.
 * RPC: author_submitAndWatchExtrinsic.
 * @example const { uid } = await burnedRegister(client, { netuid: 1, hotkey: hot.address, signer: coldkey })
 */
export async function burnedRegister(client: SubtensorClient, p: BurnedRegisterParameters): Promise<BurnedRegisterReturnType> {
  const tx = client.api.tx['subtensorModule']!['burnedRegister']!(p.netuid, p.hotkey);
  const { events, ...r } = await submitExtrinsic(client, tx, p.signer, 'burned_register');
  const ev = findEvent(events, 'subtensorModule', 'NeuronRegistered');
  const uid = ev ? Number(ev.event.data[1]!.toString()) : await getUid(client, { netuid: p.netuid, hotkey: p.hotkey });
  if (uid === undefined) throw new FlockError(`burned_register was included but ${p.hotkey} has no uid on subnet ${p.netuid}`);
  return { ...r, uid };
}
