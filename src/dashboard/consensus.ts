/**
 * How far each validator's published weights sit from the consensus: every weight vector is
 * normalised to sum 1, the consensus is the stake-weighted mean of those vectors (the plain mean
 * when none of them holds stake), and a
 * validator's distance is the L1 norm of its difference from that mean (0: it agrees exactly;
 * 2: it puts all its weight where the consensus puts none).
 */

export interface PublishedWeights {
  hotkey: string;
  /** Stake weight of the validator (≥ 0). */
  stake: number;
  /** uid → weight, any scale. */
  weights: ReadonlyMap<number, number>;
}

export interface ConsensusDistances {
  /** uid → the stake-weighted mean of the normalised weights (empty when no stake published). */
  consensus: Map<number, number>;
  /** hotkey → L1 distance from the consensus; null for a validator with no weight at all. */
  distance: Map<string, number | null>;
}

function normalised(weights: ReadonlyMap<number, number>): Map<number, number> | null {
  let sum = 0;
  for (const w of weights.values()) if (Number.isFinite(w) && w > 0) sum += w;
  if (sum <= 0) return null;
  const out = new Map<number, number>();
  for (const [uid, w] of weights) if (Number.isFinite(w) && w > 0) out.set(uid, w / sum);
  return out;
}

export function consensusDistances(validators: readonly PublishedWeights[]): ConsensusDistances {
  const norm = validators.map((v) => ({ v, w: normalised(v.weights) }));
  let totalStake = 0;
  for (const { v, w } of norm) if (w && v.stake > 0) totalStake += v.stake;
  // when no publishing validator holds stake, each counts the same
  const stakeOf = (v: PublishedWeights) => (totalStake > 0 ? (v.stake > 0 ? v.stake : 0) : 1);
  const total = totalStake > 0 ? totalStake : norm.filter(({ w }) => w).length;
  const consensus = new Map<number, number>();
  for (const { v, w } of norm) {
    if (!w || stakeOf(v) === 0) continue;
    for (const [uid, x] of w) consensus.set(uid, (consensus.get(uid) ?? 0) + (x * stakeOf(v)) / total);
  }
  const distance = new Map<string, number | null>();
  for (const { v, w } of norm) {
    if (!w) {
      distance.set(v.hotkey, null);
      continue;
    }
    let d = 0;
    for (const uid of new Set([...w.keys(), ...consensus.keys()])) d += Math.abs((w.get(uid) ?? 0) - (consensus.get(uid) ?? 0));
    distance.set(v.hotkey, d);
  }
  return { consensus, distance };
}
