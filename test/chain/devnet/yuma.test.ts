/**
 * Yuma consensus on hand-checked cases. Expected numbers are worked out in the comments from the
 * formulas of subtensor's epoch (κ = 32767/65535, ρ = 0.1, β = 1).
 */
import { describe, expect, it } from 'vitest';
import { columnConsensus, splitEmission, topkNonzero, yumaEpoch, type YumaInput } from '../../../src/chain/devnet/yuma.js';

/** Validators 0 and 1 (stake 600 / 400), miners 2 and 3; everyone registered at block 0, weights at 100. */
function base(over: Partial<YumaInput> = {}): YumaInput {
  return {
    block: 100, tempo: 10, stake: [600, 400, 0, 0], ownerUid: null,
    lastUpdate: [100, 100, 100, 100], registeredAt: [0, 0, 0, 0], activityCutoff: 5000,
    validatorPermit: [true, true, false, false], maxAllowedValidators: 64, stakeThreshold: 0,
    weights: [[], [], [], []], bonds: [[], [], [], []],
    kappa: 32767, bondsPenalty: 65535, bondsMovingAverage: 900_000, lastMechanismStepBlock: 0,
    ...over,
  };
}

const close = (a: number[], b: number[]) => a.forEach((x, i) => expect(x).toBeCloseTo(b[i]!, 9));

describe('yumaEpoch', () => {
  it('two validators agreeing: consensus = their weights, dividends by stake', () => {
    const out = yumaEpoch(base({ weights: [[[2, 65535], [3, 65535]], [[2, 65535], [3, 65535]], [], []] }));
    // Rows normalise to 0.5/0.5; both validators agree, so C = 0.5 on each miner and nothing is clipped.
    close(out.consensus, [0, 0, 0.5, 0.5]);
    close(out.validatorTrust, [1, 1, 0, 0]);
    close(out.incentive, [0, 0, 0.5, 0.5]);
    // B' = 0.1·W; column-normalised bonds are 0.5 each; D_i ∝ A_i · (0.5·0.5 + 0.5·0.5) → stake ratio.
    close(out.dividends, [0.6, 0.4, 0, 0]);
    // floor(0.05 · 65535) = 3276
    expect(out.bonds).toEqual([[[2, 3276], [3, 3276]], [[2, 3276], [3, 3276]], [], []]);
    expect(out.validatorPermit).toEqual([true, true, false, false]);
    close(out.stake, [0.6, 0.4, 0, 0]);
    expect(out.active).toEqual([true, true, true, true]);
  });

  it('two validators disagreeing: the majority wins, the minority earns nothing', () => {
    const out = yumaEpoch(base({ weights: [[[2, 65535]], [[3, 65535]], [], []] }));
    // Column 2: stake weighting it ≤ 0 is 0.4, not > 1 − κ ≈ 0.50000763, so C₂ = 1.
    // Column 3: stake weighting it ≤ 0 is 0.6 > 0.50000763, so C₃ = 0 and V1's weight is clipped away.
    close(out.consensus, [0, 0, 1, 0]);
    close(out.validatorTrust, [1, 0, 0, 0]);
    close(out.incentive, [0, 0, 1, 0]);
    close(out.dividends, [1, 0, 0, 0]);
    expect(out.bonds).toEqual([[[2, 6553]], [], [], []]); // floor(0.1 · 65535); V1's clipped row is empty
  });

  it('a weight on a miner registered after the validator set its weights is ignored', () => {
    const weights = [[[2, 65535], [3, 65535]], [], [], []] as YumaInput['weights'];
    const out = yumaEpoch(base({ stake: [1, 0, 0, 0], validatorPermit: [true, false, false, false], weights, lastUpdate: [50, 100, 100, 100], registeredAt: [0, 0, 0, 60] }));
    // LU₀ = 50 ≤ R₃ = 60: W₀₃ dropped, the row renormalises to all on miner 2.
    close(out.incentive, [0, 0, 1, 0]);
    close(out.consensus, [0, 0, 1, 0]);
    // Registered exactly at the validator's last update is dropped too (LU ≤ R).
    const same = yumaEpoch(base({ stake: [1, 0, 0, 0], validatorPermit: [true, false, false, false], weights, lastUpdate: [60, 100, 100, 100], registeredAt: [0, 0, 0, 60] }));
    close(same.incentive, [0, 0, 1, 0]);
    const after = yumaEpoch(base({ stake: [1, 0, 0, 0], validatorPermit: [true, false, false, false], weights, lastUpdate: [61, 100, 100, 100], registeredAt: [0, 0, 0, 60] }));
    close(after.incentive, [0, 0, 0.5, 0.5]);
  });

  it('bonds follow an EMA over several epochs and reset when the miner is replaced', () => {
    const input = (bonds: number, step: number, registeredAt = 0): YumaInput => ({
      ...base(), stake: [1, 0], lastUpdate: [100, 100], registeredAt: [0, registeredAt],
      validatorPermit: [true, false], weights: [[[1, 65535]], []], bonds: [bonds ? [[1, bonds]] : [], []],
      lastMechanismStepBlock: step,
    });
    const e1 = yumaEpoch(input(0, 0));
    expect(e1.bonds[0]).toEqual([[1, 6553]]); // floor((0.1·1 + 0.9·0) · 65535)
    const e2 = yumaEpoch(input(6553, 89));
    expect(e2.bonds[0]).toEqual([[1, 12451]]); // floor(6553.5 + 0.9·6553) = floor(12451.2)
    const e3 = yumaEpoch(input(12451, 89));
    expect(e3.bonds[0]).toEqual([[1, 17759]]); // floor(6553.5 + 0.9·12451) = floor(17759.4)
    // Miner re-registered at block 95 ≥ lt = 89 + 1: its old bonds are dropped.
    const reset = yumaEpoch(input(17759, 89, 95));
    expect(reset.bonds[0]).toEqual([[1, 6553]]);
  });

  it('an earlier bond holder earns more dividends than a newcomer with equal stake', () => {
    const out = yumaEpoch(base({ stake: [1, 1, 0, 0], weights: [[[2, 65535]], [[2, 65535]], [], []], bonds: [[[2, 32767]], [], [], []], lastMechanismStepBlock: 89 }));
    const b0 = 0.1 + 0.9 * (32767 / 65535); // 0.549993…
    const b1 = 0.1;
    close(out.dividends, [b0 / (b0 + b1), b1 / (b0 + b1), 0, 0]);
  });

  it('inactive validators and validators without a permit hold no active stake', () => {
    const out = yumaEpoch(base({ weights: [[[2, 65535]], [[3, 65535]], [], []], lastUpdate: [100, 100, 100, 100], validatorPermit: [false, true, false, false] }));
    // Only V1's weights count (V0 has no permit): miner 3 gets everything.
    close(out.incentive, [0, 0, 0, 1]);
    const stale = yumaEpoch(base({ block: 6000, weights: [[[2, 65535]], [[3, 65535]], [], []], lastUpdate: [100, 5500, 100, 100] }));
    expect(stale.active).toEqual([false, true, false, false]);
    close(stale.incentive, [0, 0, 0, 1]);
  });

  it('keeps the owner permitted and its self-weight', () => {
    const out = yumaEpoch(base({ stake: [0, 1, 0, 0], ownerUid: 0, validatorPermit: [false, true, false, false], weights: [[[0, 65535]], [[2, 65535]], [], []] }));
    expect(out.validatorPermit[0]).toBe(true);
    close(out.incentive, [0, 0, 1, 0]); // owner has no stake: its self-weight carries no rank
  });
});

describe('helpers', () => {
  it('topkNonzero: the k largest positive stakes, lower uid losing ties', () => {
    expect(topkNonzero([1, 1, 1], 2)).toEqual([false, true, true]);
    expect(topkNonzero([0, 3, 2, 0], 5)).toEqual([false, true, true, false]);
  });

  it('columnConsensus: the stake-weighted κ-quantile of a column', () => {
    expect(columnConsensus([0.2, 0.8, 0.5], [0.3, 0.3, 0.4], 0.5)).toBe(0.5);
    expect(columnConsensus([1, 0], [0, 1], 0.5)).toBe(0); // a validator with no active stake does not count
    expect(columnConsensus([1], [0], 0.5)).toBe(0);
  });

  it('splitEmission: miners by incentive, validators by dividends, half each', () => {
    const e = splitEmission([0, 0, 0.5, 0.5], [0.6, 0.4, 0, 0], [0.6, 0.4, 0, 0], 1000n);
    expect(e.server).toEqual([0n, 0n, 250n, 250n]);
    expect(e.validator).toEqual([300n, 200n, 0n, 0n]);
    expect(e.emission).toEqual([300n, 200n, 250n, 250n]);
    const none = splitEmission([0, 0], [0, 0], [0.25, 0.75], 100n);
    expect(none.validator).toEqual([25n, 75n]);
  });
});
