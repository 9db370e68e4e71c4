/**
 * Distance from consensus: checked against a dense, direct computation of the same definition
 * (stake-weighted mean of normalised weight vectors, L1 distance), and on cases whose answer
 * follows from the definition alone.
 */
import { describe, expect, it } from 'vitest';
import { consensusDistances, type PublishedWeights } from '../../src/dashboard/consensus.js';

const v = (hotkey: string, stake: number, weights: Record<number, number>): PublishedWeights => ({ hotkey, stake, weights: new Map(Object.entries(weights).map(([k, w]) => [Number(k), w])) });

/** The definition over dense arrays of n uids. */
function dense(vs: PublishedWeights[], n: number): Map<string, number | null> {
  const rows = vs.map((x) => {
    const a = Array.from({ length: n }, (_, u) => Math.max(0, x.weights.get(u) ?? 0));
    const s = a.reduce((p, q) => p + q, 0);
    return s > 0 ? a.map((y) => y / s) : null;
  });
  const staked = vs.reduce((p, x, i) => p + (rows[i] && x.stake > 0 ? x.stake : 0), 0);
  const mean = Array.from({ length: n }, (_, u) => {
    let m = 0;
    vs.forEach((x, i) => { if (rows[i]) m += rows[i]![u]! * (staked > 0 ? Math.max(0, x.stake) / staked : 1 / rows.filter(Boolean).length); });
    return m;
  });
  return new Map(vs.map((x, i) => [x.hotkey, rows[i] ? rows[i]!.reduce((p, y, u) => p + Math.abs(y - mean[u]!), 0) : null]));
}

describe('consensusDistances', () => {
  it('agrees with the dense computation on random weights and stakes', () => {
    let seed = 12345;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let trial = 0; trial < 20; trial++) {
      const n = 3 + Math.floor(rnd() * 20);
      const vs = Array.from({ length: 2 + Math.floor(rnd() * 6) }, (_, i) => {
        const w: Record<number, number> = {};
        for (let u = 0; u < n; u++) if (rnd() < 0.6) w[u] = rnd() * 10;
        return v(`v${i}`, rnd() < 0.2 ? 0 : rnd() * 1000, w);
      });
      const got = consensusDistances(vs).distance;
      for (const [k, d] of dense(vs, n)) {
        if (d === null) expect(got.get(k)).toBeNull();
        else expect(got.get(k)).toBeCloseTo(d, 12);
      }
    }
  });

  it('is 0 for validators that agree, whatever the scale of their weights', () => {
    const { distance, consensus } = consensusDistances([v('a', 10, { 1: 1, 2: 3 }), v('b', 30, { 1: 10, 2: 30 })]);
    expect(distance.get('a')).toBeCloseTo(0, 15);
    expect(distance.get('b')).toBeCloseTo(0, 15);
    expect(consensus.get(2)).toBeCloseTo(0.75, 15);
  });

  it('splits by stake when validators disagree entirely', () => {
    // a holds 3/4 of the stake: consensus is 3/4 on uid 1, 1/4 on uid 2
    const { distance } = consensusDistances([v('a', 300, { 1: 1 }), v('b', 100, { 2: 1 })]);
    expect(distance.get('a')).toBeCloseTo(0.5, 15); // |1 − 3/4| + |0 − 1/4|
    expect(distance.get('b')).toBeCloseTo(1.5, 15); // |0 − 3/4| + |1 − 1/4|
  });

  it('counts every validator the same when none holds stake, and has no distance for one without weights', () => {
    const { distance } = consensusDistances([v('a', 0, { 1: 1 }), v('b', 0, { 2: 1 }), v('c', 0, {})]);
    expect(distance.get('a')).toBeCloseTo(1, 15);
    expect(distance.get('c')).toBeNull();
  });
});
