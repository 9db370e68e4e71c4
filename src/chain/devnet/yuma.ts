/**
 * Yuma consensus for one subnet epoch — a pure function of the epoch's inputs, on the Yuma3 path
 * with liquid alpha off (subtensor's `epoch_mechanism`; docs/devnet.md, "Epochs and Yuma").
 *
 * Notation: n = neurons, i = validator (row), j = miner (column). Matrices are dense n×n arrays of
 * f64 (n ≤ 256 on the devnet); the chain's fixed-point arithmetic agrees with f64 to ~2⁻³².
 * u16 proportions are x/65535 on input and floor(x·65535) on output.
 */

/** A sparse row as stored on chain: (uid, u16 value) pairs. */
export type SparseRow = Array<[number, number]>;

export interface YumaInput {
  /** Current block (the epoch's block). */
  block: number;
  tempo: number;
  /** Raw stake per uid (alpha rao, or any unit: it is normalised). */
  stake: number[];
  /** Uid of the subnet owner's hotkey, if registered. */
  ownerUid: number | null;
  /** `LastUpdate` per uid (block of the last weights). */
  lastUpdate: number[];
  /** `BlockAtRegistration` per uid. */
  registeredAt: number[];
  /** Blocks without weights after which a neuron is inactive. */
  activityCutoff: number;
  /** Stored `ValidatorPermit` (from the previous epoch). */
  validatorPermit: boolean[];
  maxAllowedValidators: number;
  /** Stake below this (in the `stake` unit) counts as zero, except the owner's. */
  stakeThreshold: number;
  /** `Weights` rows (u16 values, max-upscaled). */
  weights: SparseRow[];
  /** `Bonds` rows (u16). */
  bonds: SparseRow[];
  /** `Kappa` (u16, default 32767). */
  kappa: number;
  /** `BondsPenalty` (u16, default 65535). */
  bondsPenalty: number;
  /** `BondsMovingAverage` (parts per million, default 900 000). */
  bondsMovingAverage: number;
  /** `LastMechansimStepBlock` (0 before the first epoch). */
  lastMechanismStepBlock: number;
  /** With commit-reveal on: per validator, the block of its earliest unexpired commit (null = none). */
  commitBlocks?: (number | null)[];
}

export interface YumaOutput {
  active: boolean[];
  /** Normalised stake S (after the threshold). */
  stake: number[];
  /** Active stake A: S of active permit holders, normalised (emission falls back to it). */
  activeStake: number[];
  /** New permits (top-k by stake, owner forced). */
  validatorPermit: boolean[];
  consensus: number[];
  validatorTrust: number[];
  incentive: number[];
  dividends: number[];
  /** New bonds B' (f64 in [0,1]) as sparse u16 rows: empty for uids without a new permit. */
  bonds: SparseRow[];
}

/** u16 proportion → float. */
export const fromU16 = (x: number): number => x / 65535;
/** float → u16 proportion (floor, clamped). */
export const toU16 = (x: number): number => Math.min(65535, Math.max(0, Math.floor(x * 65535)));

/** v/Σv, unchanged when Σv = 0. */
export function normalize(v: number[]): number[] {
  const s = v.reduce((a, b) => a + b, 0);
  return s > 0 ? v.map((x) => x / s) : v.slice();
}

function dense(rows: SparseRow[], n: number, scale = 1): number[][] {
  const m: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (const [j, v] of rows[i] ?? []) if (j < n) m[i]![j] = v * scale;
  }
  return m;
}

/** Indices of the k largest positive entries (stable ascending sort: on ties the lower uid loses). */
export function topkNonzero(s: number[], k: number): boolean[] {
  const order = s.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<boolean>(s.length).fill(false);
  let taken = 0;
  for (let x = order.length - 1; x >= 0 && taken < k; x--) {
    const [v, i] = order[x]!;
    if (v <= 0) break;
    out[i] = true;
    taken++;
  }
  return out;
}

/**
 * Stake-weighted consensus of one column: the smallest weight v such that validators weighting
 * j at most v hold more than ΣA − κ of the active stake (a missing weight counts as 0).
 */
export function columnConsensus(column: number[], activeStake: number[], kappa: number): number {
  const pairs: Array<[number, number]> = [];
  let total = 0;
  for (let i = 0; i < column.length; i++) {
    if (activeStake[i]! > 0) { pairs.push([column[i]!, activeStake[i]!]); total += activeStake[i]!; }
  }
  if (pairs.length === 0 || total <= 0) return 0;
  pairs.sort((a, b) => a[0] - b[0]);
  const threshold = total - kappa * total;
  let acc = 0;
  for (let x = 0; x < pairs.length; x++) {
    acc += pairs[x]![1];
    const last = x === pairs.length - 1 || pairs[x + 1]![0] !== pairs[x]![0];
    if (last && acc > threshold) return pairs[x]![0];
  }
  return pairs[pairs.length - 1]![0];
}

/** Run one epoch of Yuma consensus (Yuma3, liquid alpha off). */
export function yumaEpoch(input: YumaInput): YumaOutput {
  const n = input.stake.length;
  const b = input.block;
  const owner = input.ownerUid;
  const isOwner = (i: number) => owner !== null && i === owner;

  // 1. Activity.
  const active = input.lastUpdate.slice(0, n).map((lu) => !(lu + input.activityCutoff < b));
  while (active.length < n) active.push(false);

  // 2. Stake, threshold (owner exempt), normalised.
  const S = normalize(input.stake.map((s, i) => (s < input.stakeThreshold && !isOwner(i) ? 0 : s)));

  // 3. Permits: old (stored, owner forced) masks weights; new = top-k by stake.
  const permitOld = Array.from({ length: n }, (_, i) => Boolean(input.validatorPermit[i]) || isOwner(i));
  const permitNew = topkNonzero(S, input.maxAllowedValidators);
  if (owner !== null && owner < n) permitNew[owner] = true;

  // 4. Active stake.
  const A = normalize(S.map((s, i) => (active[i] && permitOld[i] ? s : 0)));

  // 5. Weights: permitted rows, no self-weight (except the owner's), none on miners registered
  //    at or after the validator's last update (or its earliest pending commit), row-normalised.
  const W = dense(input.weights, n);
  for (let i = 0; i < n; i++) {
    const row = W[i]!;
    if (!permitOld[i]) { row.fill(0); continue; }
    if (!isOwner(i)) row[i] = 0;
    const commit = input.commitBlocks?.[i] ?? null;
    for (let j = 0; j < n; j++) {
      if (input.lastUpdate[i]! <= input.registeredAt[j]!) row[j] = 0;
      if (commit !== null && commit < input.registeredAt[j]!) row[j] = 0;
    }
    const sum = row.reduce((a, v) => a + v, 0);
    if (sum > 0) for (let j = 0; j < n; j++) row[j] = row[j]! / sum;
  }

  // 6. Consensus per column, 7. clipped weights.
  const kappa = fromU16(input.kappa);
  const C = new Array<number>(n).fill(0);
  const column = new Array<number>(n);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) column[i] = W[i]![j]!;
    C[j] = columnConsensus(column, A, kappa);
  }
  const Wc = W.map((row) => row.map((w, j) => Math.min(w, C[j]!)));

  // 8. Validator trust, 9. incentive.
  const VT = Wc.map((row) => row.reduce((a, v) => a + v, 0));
  const rank = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) rank[j] = rank[j]! + Wc[i]![j]! * A[i]!;
  const I = normalize(rank);

  // 10. Bonds penalty: WB = W + β(W̄ − W).
  const beta = fromU16(input.bondsPenalty);
  const WB = W.map((row, i) => row.map((w, j) => w + beta * (Wc[i]![j]! - w)));

  // 11. Yuma3 bonds: old bonds on miners registered since the last step are dropped; EMA with ρ.
  const lt = input.lastMechanismStepBlock === 0 ? b - input.tempo : input.lastMechanismStepBlock + 1;
  const B = dense(input.bonds, n, 1 / 65535);
  for (let j = 0; j < n; j++) if (lt <= input.registeredAt[j]!) for (let i = 0; i < n; i++) B[i]![j] = 0;
  const rho = 1 - input.bondsMovingAverage / 1_000_000;
  const Bn = WB.map((row, i) => row.map((w, j) => rho * w + (1 - rho) * B[i]![j]!));
  const colSum = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) colSum[j] = colSum[j]! + Bn[i]![j]!;
  const D = normalize(A.map((a, i) => {
    let s = 0;
    for (let j = 0; j < n; j++) if (colSum[j]! > 0) s += (Bn[i]![j]! / colSum[j]!) * I[j]!;
    return a * s;
  }));

  const bonds: SparseRow[] = Bn.map((row, i) => {
    if (!permitNew[i]) return [];
    const out: SparseRow = [];
    row.forEach((v, j) => { const u = toU16(v); if (u > 0) out.push([j, u]); });
    return out;
  });

  return { active, stake: S, activeStake: A, validatorPermit: permitNew, consensus: C, validatorTrust: VT, incentive: I, dividends: D, bonds };
}

export interface EpochEmission {
  /** Alpha (rao) to each uid as a miner. */
  server: bigint[];
  /** Alpha (rao) to each uid as a validator. */
  validator: bigint[];
  /** `Emission` per uid: floor(normalize(I + D) · E). */
  emission: bigint[];
}

/**
 * Split an epoch's alpha E between miners (by incentive) and validators (by dividends); when both
 * are zero everything goes to validators by active stake.
 */
export function splitEmission(incentive: number[], dividends: number[], activeStake: number[], total: bigint): EpochEmission {
  const E = Number(total);
  const sigma = incentive.reduce((a, v) => a + v, 0) + dividends.reduce((a, v) => a + v, 0);
  if (sigma <= 0) {
    const v = normalize(activeStake).map((x) => BigInt(Math.floor(x * E)));
    return { server: v.map(() => 0n), validator: v, emission: v };
  }
  const server = incentive.map((x) => BigInt(Math.floor((x / sigma) * E)));
  const validator = dividends.map((x) => BigInt(Math.floor((x / sigma) * E)));
  const emission = normalize(incentive.map((x, i) => x + dividends[i]!)).map((x) => BigInt(Math.floor(x * E)));
  return { server, validator, emission };
}
