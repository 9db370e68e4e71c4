/** Commit/reveal v2 of weights at the pallet level (src/chain/devnet/pallets/subtensor.ts). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { DevnetChain, devAddress } from '../../../../src/chain/devnet/chain.js';
import { commitHash, commitWeights, revealWeights, setWeights } from '../../../../src/chain/devnet/pallets/subtensor.js';
import { dispatchErrorOf, runtimeAt } from '../helpers.js';

let chain: DevnetChain;
let alice: string;
beforeAll(async () => {
  await cryptoWaitReady();
  // tempo 10, netuid 1: epoch index = floor((b + 2) / 11); epoch 1 spans blocks 9…19, epoch 2 20…30.
  chain = new DevnetChain(undefined, { tempo: 10, commitReveal: true, weightsRateLimit: 0 });
  alice = devAddress('Alice');
});
afterAll(() => chain?.close());

describe('commit/reveal v2', () => {
  it('hashes (hotkey, netuid, uids, values, salt, version_key) as the SDK does', () => {
    const ctx = runtimeAt(chain, 1);
    // A verified vector of subtensor's commit hash (blake2b-256 of the SCALE-encoded fields), from outside this code.
    expect(commitHash(ctx, alice, 1, [0, 1, 5], [65535, 32768, 1], [1, 2, 3, 4, 5, 6, 7, 8], 1000n))
      .toBe('0x345bbcac5e814a7f0df5b1522d60d61aca96acbed65fd9afcdfcb70cda046507');
  });

  it('reveals only in the epoch after the commit, with the matching data', () => {
    const ctx = runtimeAt(chain, 10); // epoch 1
    const salt = [9, 8, 7, 6, 5, 4, 3, 2];
    expect(dispatchErrorOf(() => setWeights(ctx, alice, 1, [0], [1], 0n))).toBe('SubtensorModule.CommitRevealEnabled');
    commitWeights(ctx, alice, 1, commitHash(ctx, alice, 1, [0], [1], salt, 0n));
    expect(ctx.events).toEqual(['SubtensorModule.WeightsCommitted']);
    const commits = ctx.state.get('subtensorModule', 'weightCommits', [1, alice])!.toJSON() as Array<[string, number, number, number]>;
    expect(commits[0]!.slice(1)).toEqual([10, 20, 30]); // commit block, reveal window (epoch 2)
    expect(dispatchErrorOf(() => revealWeights(ctx, alice, 1, [0], [1], salt, 0n))).toBe('SubtensorModule.RevealTooEarly');
    ctx.block = 20;
    expect(dispatchErrorOf(() => revealWeights(ctx, alice, 1, [0], [2], salt, 0n))).toBe('SubtensorModule.InvalidRevealCommitHashNotMatch');
    revealWeights(ctx, alice, 1, [0], [1], salt, 0n);
    expect(ctx.state.get('subtensorModule', 'weights', [1, 0])!.toJSON()).toEqual([[0, 65535]]);
    expect(ctx.state.has('subtensorModule', 'weightCommits', [1, alice])).toBe(false);
    expect(dispatchErrorOf(() => revealWeights(ctx, alice, 1, [0], [1], salt, 0n))).toBe('SubtensorModule.NoWeightsCommitFound');
  });

  it('expires a commit not revealed in its window', () => {
    const ctx = runtimeAt(chain, 12);
    const salt = [1, 1, 1, 1, 1, 1, 1, 1];
    commitWeights(ctx, alice, 1, commitHash(ctx, alice, 1, [0], [3], salt, 0n));
    ctx.block = 31; // epoch 3
    expect(dispatchErrorOf(() => revealWeights(ctx, alice, 1, [0], [3], salt, 0n))).toBe('SubtensorModule.ExpiredWeightCommit');
  });
});
