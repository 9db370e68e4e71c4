/**
 * Typed chain errors (viem style): each failure has its own class with a literal `name`, a message
 * that names the bad value, and a hint with the next step. All extend the project's FlockError;
 * callers tell them apart with `instanceof`, and each action exports the union it can throw
 * (`GetMetagraphErrorType`, `SetWeightsErrorType`, …).
 */
import { FlockError, type FlockErrorOptions } from '../../util/errors.js';

/** The node could not be reached, or the connection dropped. */
export class ChainConnectionError extends FlockError {
  override name = 'ChainConnectionError' as const;
  constructor(readonly endpoint: string, reason: string, options: FlockErrorOptions = {}) {
    super(`cannot reach the chain at ${endpoint}: ${reason}`, {
      hint: 'check that the node is running and --subtensor.network / --subtensor.chain_endpoint point at it; the client reconnects when it is back',
      ...options,
    });
  }
}

/** A request took longer than its timeout. */
export class ChainTimeoutError extends FlockError {
  override name = 'ChainTimeoutError' as const;
  constructor(readonly endpoint: string, readonly what: string, readonly timeoutMs: number) {
    super(`${what} timed out after ${timeoutMs} ms (${endpoint})`, { hint: 'the node may be overloaded or unreachable; try again or pick another endpoint' });
  }
}

/** The chain refused an extrinsic with a module error (`SubtensorModule.SettingWeightsTooFast`, …). */
export class ChainDispatchError extends FlockError {
  override name: string = 'ChainDispatchError';
  constructor(readonly pallet: string, readonly error: string, readonly docs: string, options: FlockErrorOptions = {}) {
    super(options.details?.length ? `${pallet}.${error}` : `the chain refused the transaction: ${pallet}.${error}${docs ? ` (${docs})` : ''}`, options);
  }
}

/** A weight commit was not revealed in time (`SubtensorModule.ExpiredWeightCommit`): commit again. */
export class ExpiredWeightCommitError extends ChainDispatchError {
  override name = 'ExpiredWeightCommitError' as const;
}

/** The hotkey used its commitment space for this epoch (`Commitments.SpaceLimitExceeded`). */
export class SpaceLimitExceededError extends ChainDispatchError {
  override name = 'SpaceLimitExceededError' as const;
}

/** Module errors that have a class of their own (the rest are plain ChainDispatchError). */
export const DISPATCH_ERROR_CLASSES: Record<string, typeof ChainDispatchError> = {
  ExpiredWeightCommit: ExpiredWeightCommitError,
  SpaceLimitExceeded: SpaceLimitExceededError,
};

/** The node refused to take a transaction into its pool (bad nonce, low balance, a rate limit …). */
export class TransactionRejectedError extends FlockError {
  override name: string = 'TransactionRejectedError';
  constructor(readonly what: string, readonly reason: string, options: FlockErrorOptions = {}) {
    super(`${what}: the node rejected the transaction: ${reason}`, options);
  }
}

/** The same transaction is already in the node's pool. */
export class TransactionPendingError extends TransactionRejectedError {
  override name = 'TransactionPendingError' as const;
  constructor(what: string) {
    super(what, 'the same transaction is already pending', { hint: 'wait for it to be included, then retry' });
    this.message = `${what}: the same transaction is already pending`;
  }
}

/** A transaction the pool took was later found invalid, dropped or replaced, and never included. */
export class TransactionDroppedError extends FlockError {
  override name = 'TransactionDroppedError' as const;
  constructor(readonly what: string, readonly status: string) {
    super(`${what}: the transaction was ${status} by the node`, { hint: 'retry; if it repeats, check the nonce and the account balance' });
  }
}

/** What every chain read can fail with: the node is unreachable or too slow. */
export type ChainRequestErrorType = ChainConnectionError | ChainTimeoutError;
/** What every transaction can fail with: a read's failures, the pool's refusal, the chain's. */
export type TransactionErrorType = ChainRequestErrorType | TransactionRejectedError | TransactionDroppedError | ChainDispatchError;

/** True for failures that say nothing about the request itself (the node is down or slow). */
export function isChainUnavailable(err: unknown): err is ChainRequestErrorType {
  return err instanceof ChainConnectionError || err instanceof ChainTimeoutError;
}

/** The subnet's weights rate limit has not passed since this hotkey last set weights. */
export class SettingWeightsTooFastError extends ChainDispatchError {
  override name = 'SettingWeightsTooFastError' as const;
  constructor(readonly blocksSince: number, readonly rateLimit: number) {
    super('SubtensorModule', 'SettingWeightsTooFast', '');
    this.message = `weights were set ${blocksSince} blocks ago; the subnet allows every ${rateLimit}`;
    (this as { hint?: string }).hint = `wait ${Math.max(0, rateLimit - blocksSince)} more blocks`;
  }
}

/** The hotkey is not registered on the subnet. */
export class NotRegisteredError extends FlockError {
  override name = 'NotRegisteredError' as const;
  constructor(readonly hotkey: string, readonly netuid: number) {
    super(`hotkey ${hotkey} is not registered on subnet ${netuid}`, { hint: `register it first (burned_register on netuid ${netuid})` });
  }
}

/** A subnet that does not exist. */
export class SubnetNotFoundError extends FlockError {
  override name = 'SubnetNotFoundError' as const;
  constructor(readonly netuid: number) {
    super(`subnet ${netuid} does not exist on this chain`, { hint: 'check --netuid and the network' });
  }
}

/** Extra advice for module errors users meet often. */
export const DISPATCH_HINTS: Record<string, string> = {
  HotKeyNotRegisteredInSubNet: 'register the hotkey on this subnet first',
  HotKeyNotRegisteredInNetwork: 'register the hotkey on this subnet first',
  AccountNotAllowedCommit: 'only hotkeys registered on the subnet may commit',
  SpaceLimitExceeded: 'this hotkey used its commitment space for the epoch; retry after the next epoch',
  IncorrectWeightVersionKey: "the subnet requires a newer version key: update the validator",
  NeuronNoValidatorPermit: 'this hotkey has no validator permit: it needs more stake than the 64th validator',
  CommitRevealEnabled: 'the subnet uses commit-reveal: commit weights and reveal them in a later epoch',
  CommitRevealDisabled: 'the subnet does not use commit-reveal: set weights directly',
  NotEnoughBalanceToStake: 'the coldkey does not hold enough TAO for this',
  HotKeyAlreadyRegisteredInSubNet: 'this hotkey is registered already',
  NonAssociatedColdKey: 'this hotkey belongs to another coldkey',
  RevealTooEarly: 'reveal in the epoch after the commit',
  ExpiredWeightCommit: 'the commit expired; commit again',
  InvalidRevealCommitHashNotMatch: 'the revealed uids, values, salt or version key differ from the commit',
  NoWeightsCommitFound: 'there is no pending weight commit for this hotkey',
  MaxWeightExceeded: "a weight exceeds the subnet's max weight limit",
  WeightVecLengthIsLow: 'set weights on at least MinAllowedWeights uids',
};
