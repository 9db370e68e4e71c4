/**
 * Weight preparation exactly as the Python SDK does it before `set_weights`
 * (`bittensor.utils.weight_utils`): `processWeightsForNetuid` applies the subnet's minimum number
 * of weights and maximum weight, `convertWeightsAndUidsForEmit` turns floats into the u16 values
 * the chain stores.
 */
import { FlockError } from '../../util/errors.js';

export const U16_MAX = 65535;

/** Python's `round`: half to even. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

export interface EmitWeights {
  uids: number[];
  weights: number[];
}

/**
 * `convert_weights_and_uids_for_emit`: weights (as float32, like the SDK's numpy arrays) divided
 * by their max, times 65535, rounded half to even; zeros dropped. Not sum-normalised.
 * @example convertWeightsAndUidsForEmit([0, 1, 2, 3], [0.1, 0.2, 0.7, 0]) // { uids: [0, 1, 2], weights: [9362, 18724, 65535] }
 */
export function convertWeightsAndUidsForEmit(uids: number[], weights: number[]): EmitWeights {
  const w = weights.map((x) => Math.fround(x));
  if (w.some((x) => x < 0 || Number.isNaN(x))) throw new FlockError(`weights must be non-negative, got ${weights.find((x) => !(x >= 0))}`);
  if (uids.some((u) => u < 0 || !Number.isInteger(u))) throw new FlockError(`uids must be non-negative integers, got ${uids.find((u) => !(u >= 0 && Number.isInteger(u)))}`);
  if (uids.length !== w.length) throw new FlockError(`uids and weights differ in length (${uids.length} vs ${w.length})`);
  const sum = w.reduce((a, b) => a + b, 0);
  if (sum === 0) return { uids: [], weights: [] };
  const max = Math.max(...w);
  const out: EmitWeights = { uids: [], weights: [] };
  w.forEach((x, i) => {
    const v = roundHalfEven((x / max) * U16_MAX);
    if (v !== 0) {
      out.uids.push(uids[i]!);
      out.weights.push(v);
    }
  });
  return out;
}

/**
 * `normalize_max_weight`: normalise to sum 1 with no entry above `limit`, clipping the largest
 * entries at a common cutoff (eps 1e-7, as the SDK).
 */
export function normalizeMaxWeight(x: number[], limit = 0.1): number[] {
  const eps = 1e-7;
  const n = x.length;
  const total = x.reduce((a, b) => a + b, 0);
  if (total === 0 || n * limit <= 1) return x.map(() => 1 / n);
  const values = [...x].sort((a, b) => a - b);
  const estimation = values.map((v) => v / total);
  if (Math.max(...estimation) <= limit) return x.map((v) => v / total);
  const cumsum: number[] = [];
  estimation.reduce((acc, v, i) => (cumsum[i] = acc + v), 0);
  const estimationSum = estimation.map((e, i) => (n - i - 1) * e);
  const nValues = estimation.filter((e, i) => e / (estimationSum[i]! + cumsum[i]! + eps) < limit).length;
  const cutoffScale = (limit * cumsum[nValues - 1]! - eps) / (1 - limit * (n - nValues));
  const cutoff = cutoffScale * total;
  const clipped = x.map((v) => (v > cutoff ? cutoff : v));
  const s = clipped.reduce((a, b) => a + b, 0);
  return clipped.map((v) => v / s);
}

/** numpy's default (linear) quantile. */
function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

export interface ProcessWeightsParameters {
  uids: number[];
  weights: number[];
  /** Neurons on the subnet. */
  n: number;
  minAllowedWeights: number;
  /** MaxWeightsLimit / 65535. */
  maxWeightLimit: number;
  /** u16 exclusion quantile (default 0: keep every positive weight). */
  excludeQuantile?: number;
}

/**
 * `process_weights_for_netuid`: no positive weight or n < min → uniform over every uid; fewer
 * positive weights than the minimum → every uid gets 1e-5 plus its weight, then
 * `normalizeMaxWeight`; otherwise drop entries below the exclusion quantile and `normalizeMaxWeight`.
 * Weights are indexed by uid (the SDK indexes by position, the same when uids are 0..n-1).
 */
export function processWeightsForNetuid(p: ProcessWeightsParameters): EmitWeights {
  const w = p.weights.map((x) => Math.fround(x));
  const nz = w.map((x, i) => ({ uid: p.uids[i]!, w: x })).filter((e) => e.w > 0);
  if (nz.length === 0 || p.n < p.minAllowedWeights) {
    return { uids: Array.from({ length: p.n }, (_, i) => i), weights: Array.from({ length: p.n }, () => 1 / p.n) };
  }
  if (nz.length < p.minAllowedWeights) {
    const all = Array.from({ length: p.n }, () => 1e-5);
    for (const e of nz) if (e.uid < p.n) all[e.uid]! += e.w;
    return { uids: all.map((_, i) => i), weights: normalizeMaxWeight(all, p.maxWeightLimit) };
  }
  const q = (p.excludeQuantile ?? 0) / U16_MAX;
  const maxExclude = Math.max(0, nz.length - p.minAllowedWeights) / nz.length;
  const lowest = quantile(nz.map((e) => e.w), Math.min(q, maxExclude));
  const kept = nz.filter((e) => lowest <= e.w);
  return { uids: kept.map((e) => e.uid), weights: normalizeMaxWeight(kept.map((e) => e.w), p.maxWeightLimit) };
}
