import { describe, expect, it } from 'vitest';
import { convertWeightsAndUidsForEmit, normalizeMaxWeight, processWeightsForNetuid, roundHalfEven } from '../../../src/chain/subtensor/weights.js';

describe('convertWeightsAndUidsForEmit (SDK vectors)', () => {
  it('scales by the max, rounds half to even and drops zeros', () => {
    expect(convertWeightsAndUidsForEmit([0, 1, 2, 3], [0.1, 0.2, 0.7, 0])).toEqual({ uids: [0, 1, 2], weights: [9362, 18724, 65535] });
    expect(convertWeightsAndUidsForEmit([5, 6, 7], [1e-6, 0.5, 1])).toEqual({ uids: [6, 7], weights: [32768, 65535] });
  });

  it('returns nothing for all-zero weights and refuses bad input', () => {
    expect(convertWeightsAndUidsForEmit([0, 1], [0, 0])).toEqual({ uids: [], weights: [] });
    expect(() => convertWeightsAndUidsForEmit([0, 1], [0.5, -0.1])).toThrow(/non-negative/);
    expect(() => convertWeightsAndUidsForEmit([0, -1], [0.5, 0.1])).toThrow(/uids must be non-negative/);
    expect(() => convertWeightsAndUidsForEmit([0, 1, 2], [0.5, 0.1])).toThrow(/differ in length/);
  });

  it('rounds like Python', () => {
    expect([0.5, 1.5, 2.5, 2.4, 2.6].map(roundHalfEven)).toEqual([0, 2, 2, 2, 3]);
  });
});

describe('processWeightsForNetuid', () => {
  it('gives uniform weights when none is positive', () => {
    expect(processWeightsForNetuid({ uids: [0, 1], weights: [0, 0], n: 4, minAllowedWeights: 1, maxWeightLimit: 1 }))
      .toEqual({ uids: [0, 1, 2, 3], weights: [0.25, 0.25, 0.25, 0.25] });
  });

  it('pads every uid with 1e-5 when fewer positive weights than the minimum', () => {
    const r = processWeightsForNetuid({ uids: [2], weights: [1], n: 4, minAllowedWeights: 2, maxWeightLimit: 1 });
    expect(r.uids).toEqual([0, 1, 2, 3]);
    const total = 1 + 4e-5;
    expect(r.weights[2]).toBeCloseTo((1 + 1e-5) / total, 9);
    expect(r.weights[0]).toBeCloseTo(1e-5 / total, 9);
  });

  it('keeps positive weights and normalises them under the max-weight limit', () => {
    const r = processWeightsForNetuid({ uids: [0, 1, 2, 3], weights: [0, 1, 1, 8], n: 4, minAllowedWeights: 1, maxWeightLimit: 1 });
    expect(r.uids).toEqual([1, 2, 3]);
    expect(r.weights.map((w) => +w.toFixed(6))).toEqual([0.1, 0.1, 0.8]);
    const clipped = normalizeMaxWeight([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 10], 0.2);
    expect(Math.max(...clipped)).toBeLessThanOrEqual(0.2 + 1e-6);
    expect(clipped.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    expect(clipped[0]).toBeCloseTo(clipped[1]!, 12);
  });
});
