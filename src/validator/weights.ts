/**
 * Setting weights at most once per weight window (one epoch of the subnet), within the chain's
 * rate limit, with commit/reveal when the subnet requires it (scoring step 11).
 *
 * Crash safety: the window is claimed in the state DB *before* the transaction is sent (the
 * store's unique index allows one live transaction per window and kind). A claim left `pending`
 * by a crash counts as set; on the next start `resolvePendingWeights` asks the chain whether it
 * landed (the hotkey's `lastUpdate` at or after the claim block) and marks it included or failed.
 */
import type { Chain, Metagraph, Signer, SubnetInfo } from '../chain/chain.js';
import { commitHash, ExpiredWeightCommitError, isChainUnavailable } from '../chain/index.js';
import { toU16Weights } from '../protocol/scoring.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { ValidatorStore, WeightTransactionRecord } from './store.js';

/** The weight window a block belongs to: identified by the block of the epoch that closes it. */
export function weightWindow(info: Pick<SubnetInfo, 'nextEpochBlock'>): number {
  return info.nextEpochBlock;
}

/** Blocks after a claim before a pending transaction that is not on chain is declared lost. */
export const PENDING_GRACE_BLOCKS = 3;

/**
 * Resolve weight transactions left pending (by a crash) against the chain. Returns how many were
 * resolved.
 */
export function resolvePendingWeights(p: { store: ValidatorStore; netuid: number; metagraph: Metagraph; myUid: number; log: Logger }): number {
  let resolved = 0;
  const current = p.metagraph.block.number;
  const lastUpdate = p.metagraph.lastUpdate[p.myUid] ?? 0;
  for (const tx of p.store.pendingWeightTransactions()) {
    if (tx.netuid !== p.netuid) continue;
    const claim = p.store.weightTransactionClaimBlock(tx.id);
    if (claim !== null && lastUpdate >= claim) {
      p.store.markWeightTransaction(tx.id, { status: 'included', block: lastUpdate });
      p.log.info(`weights of window ${tx.window} found on chain after a restart`, { kind: tx.kind, block: lastUpdate });
      resolved++;
    } else if (claim === null || current > claim + PENDING_GRACE_BLOCKS) {
      p.store.markWeightTransaction(tx.id, { status: 'failed', error: 'not on chain after a restart (the process stopped before it landed)' });
      p.log.warning(`weights of window ${tx.window} did not land before the restart; they will be set again`, { kind: tx.kind });
      resolved++;
    }
  }
  return resolved;
}

export type SetWeightsOutcome =
  | { status: 'set'; block: number; window: number; transaction: WeightTransactionRecord }
  | { status: 'already_set'; window: number }
  | { status: 'rate_limited'; window: number; blocksLeft: number }
  | { status: 'failed'; window: number; error: string };

/**
 * Set (or commit) `weights` for the current window unless this window already has them.
 * Never throws for chain refusals (returns `failed`); connection errors propagate.
 */
export async function setWeightsForWindow(p: {
  chain: Chain;
  store: ValidatorStore;
  netuid: number;
  info: SubnetInfo;
  metagraph: Metagraph;
  myUid: number;
  signer: Signer;
  weights: ReadonlyArray<{ uid: number; weight: number }>;
  roundId: number | null;
  log: Logger;
}): Promise<SetWeightsOutcome> {
  const window = weightWindow(p.info);
  const kind = p.info.commitRevealEnabled ? 'commit' : 'set';
  if (p.store.weightsSetInWindow(p.netuid, window, kind)) return { status: 'already_set', window };
  const block = p.metagraph.block.number;
  const since = block - (p.metagraph.lastUpdate[p.myUid] ?? 0);
  if ((p.metagraph.lastUpdate[p.myUid] ?? 0) > 0 && since < p.info.weightsRateLimit) {
    return { status: 'rate_limited', window, blocksLeft: p.info.weightsRateLimit - since };
  }
  const { uids, values } = toU16Weights(p.weights);
  const versionKey = p.info.weightsVersionKey;
  const claim = p.store.claimWeightWindow({ netuid: p.netuid, window, kind, roundId: p.roundId, uids, weights: values, versionKey });
  if (!claim.claimed) return { status: 'already_set', window };
  const tx = claim.transaction;
  p.store.setWeightTransactionClaimBlock(tx.id, block);
  try {
    if (kind === 'set') {
      const r = await p.chain.setWeights({ netuid: p.netuid, uids, weights: values, versionKey, signer: p.signer });
      p.store.markWeightTransaction(tx.id, { status: 'included', block: r.blockNumber, txHash: r.txHash });
      p.log.success(`weights set for window ${window}`, { block: r.blockNumber, uids: r.uids.length });
      return { status: 'set', block: r.blockNumber, window, transaction: p.store.weightTransaction(tx.id)! };
    }
    const r = await p.chain.commitWeights({ netuid: p.netuid, uids, weights: values, versionKey, signer: p.signer });
    p.store.markWeightTransaction(tx.id, { status: 'included', block: r.blockNumber, txHash: r.txHash });
    p.store.setCommittedWeights(tx.id, { uids: r.uids, weights: r.values, salt: r.salt });
    p.log.success(`weights committed for window ${window}`, { block: r.blockNumber, uids: r.uids.length });
    return { status: 'set', block: r.blockNumber, window, transaction: p.store.weightTransaction(tx.id)! };
  } catch (err) {
    if (isChainUnavailable(err)) throw err; // stays pending: resolved against the chain on the next sync
    const error = errorMessage(err);
    p.store.markWeightTransaction(tx.id, { status: 'failed', error });
    p.log.warning(`setting weights failed: ${error}`, { window });
    return { status: 'failed', window, error };
  }
}

/**
 * Reveal committed weights whose reveal epoch has come (commit-reveal subnets). A reveal the chain
 * calls too early is tried again on the next pass; one it calls expired is marked failed.
 */
export async function revealDueWeights(p: { chain: Chain; store: ValidatorStore; netuid: number; signer: Signer; log: Logger }): Promise<number> {
  let revealed = 0;
  const commits = p.store.weightTransactions(200).filter((t) => t.netuid === p.netuid && t.kind === 'commit' && t.status === 'included' && t.salt);
  for (const c of commits) {
    if (p.store.weightsSetInWindow(p.netuid, c.window, 'reveal')) continue;
    const hotkey = p.signer.address;
    const pending = {
      netuid: p.netuid, hotkey, uids: c.uids, values: c.weights, salt: c.salt!, versionKey: c.versionKey ?? 0,
      commitHash: commitHash({ hotkey, netuid: p.netuid, uids: c.uids, values: c.weights, salt: c.salt!, versionKey: c.versionKey ?? 0 }),
      commitBlock: c.block ?? 0,
    };
    try {
      const r = await p.chain.revealWeights({ pending, signer: p.signer });
      const claim = p.store.claimWeightWindow({ netuid: p.netuid, window: c.window, kind: 'reveal', roundId: c.roundId, uids: c.uids, weights: c.weights, salt: c.salt, versionKey: c.versionKey });
      p.store.markWeightTransaction(claim.transaction.id, { status: 'included', block: r.blockNumber, txHash: r.txHash });
      p.log.success(`weights revealed for window ${c.window}`, { block: r.blockNumber });
      revealed++;
    } catch (err) {
      if (isChainUnavailable(err)) throw err;
      const msg = errorMessage(err);
      if (err instanceof ExpiredWeightCommitError) {
        const claim = p.store.claimWeightWindow({ netuid: p.netuid, window: c.window, kind: 'reveal', roundId: c.roundId, uids: c.uids, weights: c.weights });
        p.store.markWeightTransaction(claim.transaction.id, { status: 'failed', error: msg });
        // a failed reveal frees the kind; record the give-up on the commit itself so it is not retried
        p.store.markWeightTransaction(c.id, { status: 'included', error: `reveal expired: ${msg}` });
        p.store.abandonReveal(c.id);
      } else {
        p.log.debug('reveal not accepted yet', { window: c.window, error: msg });
      }
    }
  }
  return revealed;
}
