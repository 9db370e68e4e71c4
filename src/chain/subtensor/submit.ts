/**
 * Sign, submit and watch one extrinsic until it is in a block; module errors become
 * `ChainDispatchError` with the pallet's error name, pool rejections a clear message.
 * RPC: system_accountNextIndex, author_submitAndWatchExtrinsic, chain_getHeader. Mortal era of 128
 * blocks, as the SDK signs.
 */
import type { SubmittableExtrinsic } from '@polkadot/api/types';
import type { DispatchError, EventRecord } from '@polkadot/types/interfaces';
import type { Signer, TxResult } from '../chain.js';
import { ensureConnected, signerPair, withTimeout, type SubtensorClient } from './client.js';
import {
  ChainConnectionError, ChainDispatchError, ChainTimeoutError, DISPATCH_ERROR_CLASSES, DISPATCH_HINTS, TransactionDroppedError, TransactionPendingError,
  TransactionRejectedError,
} from './errors.js';

export interface SubmitResult extends TxResult {
  events: EventRecord[];
}

/** Subtensor's transaction-pool error codes (`CustomTransactionError`). */
const CUSTOM_TX_ERRORS: Record<number, string> = {
  0: 'ColdkeyInSwapSchedule', 1: 'StakeAmountTooLow', 2: 'BalanceTooLow', 3: 'SubnetDoesntExist',
  4: 'HotkeyAccountDoesntExist', 5: 'NotEnoughStakeToWithdraw', 6: 'RateLimitExceeded', 7: 'InsufficientLiquidity',
  8: 'SlippageTooHigh', 9: 'TransferDisallowed', 10: 'HotKeyNotRegisteredInNetwork', 11: 'InvalidIpAddress',
  12: 'ServingRateLimitExceeded', 13: 'InvalidPort', 255: 'BadRequest',
};

/** A DispatchError as a typed error (a class of its own for the module errors callers act on). */
export function dispatchErrorOf(client: SubtensorClient, err: DispatchError): ChainDispatchError {
  if (err.isModule) {
    const meta = client.api.registry.findMetaError(err.asModule);
    const docs = meta.docs.join(' ').trim();
    const Class = DISPATCH_ERROR_CLASSES[meta.name] ?? ChainDispatchError;
    return new Class(meta.section[0]!.toUpperCase() + meta.section.slice(1), meta.name, docs, { hint: DISPATCH_HINTS[meta.name] });
  }
  return new ChainDispatchError('System', err.type, err.toString());
}

/** The node's refusal of a transaction (its message text is all the pool gives us) as a typed error. */
function poolError(client: SubtensorClient, what: string, message: string): TransactionRejectedError {
  const custom = /Custom error: (\d+)/.exec(message);
  const name = custom ? CUSTOM_TX_ERRORS[Number(custom[1])] : undefined;
  if (/Priority is too low|already imported|AlreadyImported/i.test(message)) return new TransactionPendingError(what);
  return new TransactionRejectedError(what, name ? `${name} (${message})` : message, {
    hint: name ? DISPATCH_HINTS[name] ?? 'see the message above' : `node: ${client.endpoint}`,
  });
}

/** Per client, the last transaction of each signing address (the next one waits for it). */
const signerTails = new WeakMap<SubtensorClient, Map<string, Promise<unknown>>>();

/**
 * Run `fn` after every earlier transaction of `address` on this client has settled. Two
 * transactions of one key sent at once (a validator's weights and its results pointer) would read
 * the same nonce and the node would drop one.
 */
async function oneAtATime<T>(client: SubtensorClient, address: string, fn: () => Promise<T>): Promise<T> {
  let tails = signerTails.get(client);
  if (!tails) signerTails.set(client, (tails = new Map()));
  const run = (tails.get(address) ?? Promise.resolve()).then(fn, fn);
  const tail = run.then(() => undefined, () => undefined);
  tails.set(address, tail);
  try {
    return await run;
  } finally {
    if (tails.get(address) === tail) tails.delete(address);
  }
}

/**
 * Sign `tx` with `signer`, submit it, and resolve once it is in a block without a dispatch error.
 * Transactions of one signer go one after another, each after the previous one settled.
 * @example const r = await submitExtrinsic(client, api.tx.commitments.setCommitment(1, info), hotkey, 'set_commitment')
 */
export async function submitExtrinsic(
  client: SubtensorClient,
  tx: SubmittableExtrinsic<'promise'>,
  signer: Signer,
  what: string,
): Promise<SubmitResult> {
  const pair = signerPair(signer);
  return oneAtATime(client, pair.address, () => submitNow(client, tx, pair, what));
}

async function submitNow(client: SubtensorClient, tx: SubmittableExtrinsic<'promise'>, pair: ReturnType<typeof signerPair>, what: string): Promise<SubmitResult> {
  await ensureConnected(client);
  // The pool-aware nonce from system_accountNextIndex, asked for explicitly (not the api's
  // AccountNonceApi runtime call), so nodes without runtime APIs work the same.
  const nonce = (await client.api.rpc.system.accountNextIndex(pair.address)).toNumber();
  let unsubscribe: (() => void) | undefined;
  const included = new Promise<{ blockHash: string; events: EventRecord[]; txHash: string }>((resolve, reject) => {
    tx.signAndSend(pair, { nonce, era: 128 }, (result) => {
      const { status, dispatchError, events } = result;
      if (status.isInBlock || status.isFinalized) {
        unsubscribe?.();
        if (dispatchError) reject(dispatchErrorOf(client, dispatchError));
        else resolve({ blockHash: (status.isInBlock ? status.asInBlock : status.asFinalized).toHex(), events: [...events], txHash: result.txHash.toHex() });
      } else if (status.isInvalid || status.isDropped || status.isUsurped) {
        unsubscribe?.();
        reject(new TransactionDroppedError(what, status.type.toLowerCase()));
      }
    }).then((unsub) => { unsubscribe = unsub; }, (err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      if (/WebSocket is not connected|disconnected from/i.test(message)) reject(new ChainConnectionError(client.endpoint, `${what} could not be sent: ${message}`, { cause: err }));
      else reject(poolError(client, what, message));
    });
  });
  try {
    const r = await withTimeout(included, client.txTimeoutMs, () => new ChainTimeoutError(client.endpoint, `${what} (waiting for inclusion)`, client.txTimeoutMs));
    const header = await client.api.rpc.chain.getHeader(r.blockHash);
    client.log.debug(`${what} included`, { block: header.number.toNumber() });
    return { blockHash: r.blockHash, blockNumber: header.number.toNumber(), txHash: r.txHash, events: r.events };
  } finally {
    unsubscribe?.();
  }
}

/** The first event `pallet.method` among a transaction's events. */
export function findEvent(events: EventRecord[], pallet: string, method: string): EventRecord | undefined {
  return events.find((e) => e.event.section.toLowerCase() === pallet.toLowerCase() && e.event.method === method);
}
