/**
 * Scoring (docs/protocol.md, "Scoring"): from per-example evaluation losses to the u16 weights a
 * validator sets on chain. Pure, deterministic functions; every zero carries a reason a miner can
 * read. `scoreRound` runs steps 1–11; each step is also exported on its own, and every verdict a
 * tool shows (the miner's preview, `flock dataset`) comes from these functions.
 *
 * Protocol 1 and 2 differ only in step 4: protocol 2 also counts a dataset that holds most of an
 * earlier one as a copy (containment), switched on by `containmentMinRows` in the constants.
 *
 * Legend: uid i (later) and j (earlier); b = commitment block; r = registration block;
 * ℓ_i(x) = i's loss on evaluation example x (M examples); L_i = mean ℓ_i; ℓ_0/L_0 = base model.
 * "Earlier" means a lower commitment block, ties broken by the lower uid.
 */

/** The scoring constants of competition.json (`scoring`), with scoring v1's defaults. */
export interface ScoringConstants {
  /** Step 5: a dataset must lower the base loss by at least this fraction. */
  baseMargin: number;
  /** Step 6: time advantage ε of a fresh earlier submission. */
  epsilonStart: number;
  /** Step 6/7: ε after it has fully decayed; also the competitive filter's margin. */
  epsilonEnd: number;
  /** Step 6: blocks over which ε decays from start to end (21 600 ≈ 3 days of 12 s blocks). */
  epsilonDecayBlocks: number;
  /** Step 6: one-sided z of the paired test (1.645 ≈ 95%). */
  z: number;
  /** Step 9: softmax temperature over win rates. */
  tau: number;
  /** Step 10: EMA factor of the new round's weights. */
  emaAlpha: number;
  /** Step 10: smoothed weights below this are zeroed. */
  minWeight: number;
  /** Step 3: largest fraction of contaminated rows tolerated (they are dropped). */
  contaminationMax: number;
  /** Step 4: overlap with an earlier dataset at or above which a dataset is a copy. */
  copyThreshold: number;
  /**
   * Step 4, protocol 2 only: holding at least `copyThreshold` of an earlier dataset's rows makes a
   * copy when those held rows are at least this many. Absent under protocol 1, whose copy rule
   * looks at the share of the later dataset's own rows alone.
   */
  containmentMinRows?: number;
  /**
   * Protocol 2 (commit before publish): blocks after its commitment during which a dataset repo
   * may still be unreadable (private, or the revision not there yet) without scoring 0. Absent
   * (protocol 1): an unreadable dataset scores 0 at once.
   */
  publishWindowBlocks?: number;
}

export const DEFAULT_SCORING_CONSTANTS: Readonly<ScoringConstants> = Object.freeze({
  baseMargin: 0.01,
  epsilonStart: 0.02,
  epsilonEnd: 0.005,
  epsilonDecayBlocks: 21_600,
  z: 1.645,
  tau: 0.08,
  emaAlpha: 0.2,
  minWeight: 1e-4,
  contaminationMax: 0.01,
  copyThreshold: 0.5,
});

/** Protocol 2's scoring defaults: protocol 1's, and the containment direction of the copy rule. */
export const DEFAULT_SCORING_CONSTANTS_V2: Readonly<ScoringConstants & { containmentMinRows: number; publishWindowBlocks: number }> = Object.freeze({
  ...DEFAULT_SCORING_CONSTANTS,
  containmentMinRows: 100,
  publishWindowBlocks: 100,
});

/**
 * A committed dataset the hub will not serve (repo missing or private, revision absent). Under
 * protocol 2 a miner may commit first and publish after (`flock miner submit --private`), so the
 * data cannot be copied before its commitment is on chain: validators wait until
 * `publishWindowBlocks` blocks after the commitment, then it scores 0. Under protocol 1 it scores 0
 * at once.
 *
 * @example
 * unreadableDatasetVerdict({ commitmentBlock: 100, currentBlock: 150, reason: 'the repo is private' }, { publishWindowBlocks: 100 });
 * // { kind: 'wait', untilBlock: 200, reason: 'not readable yet (the repo is private); …' }
 */
export function unreadableDatasetVerdict(
  p: { commitmentBlock: number; currentBlock: number; reason: string },
  c: { publishWindowBlocks?: number } | Readonly<ScoringConstants>,
): { kind: 'wait'; untilBlock: number; reason: string } | { kind: 'final'; reason: string } {
  const window = 'publishWindowBlocks' in c ? c.publishWindowBlocks : undefined;
  if (window === undefined) return { kind: 'final', reason: p.reason };
  const untilBlock = p.commitmentBlock + window;
  if (p.currentBlock <= untilBlock) {
    return { kind: 'wait', untilBlock, reason: `not readable yet (${p.reason}); it may be published until block ${untilBlock}, ${window} blocks after its commitment` };
  }
  return { kind: 'final', reason: `${p.reason}, and still so ${p.currentBlock - p.commitmentBlock} blocks after its commitment at block ${p.commitmentBlock}; a dataset must be readable within ${window} blocks of its commitment` };
}

/**
 * How much of each other's rows two datasets share: O(i,j), the fraction of i's rows that exactly
 * or nearly match a row of j's dataset, and the reverse count (j's rows that match i's), from which
 * C(i,j) = otherMatched ÷ otherRows, the share of j's dataset that i holds.
 */
export interface CopyEvidence {
  /** O(i,j): fraction of this dataset's rows found in the other dataset, in [0, 1]. */
  fraction: number;
  /** Rows of the other dataset that match a row of this one; absent when not measured. */
  otherMatched?: number;
  /** Rows of the other dataset; absent when not measured. */
  otherRows?: number;
}

/** Copy evidence against one committed dataset, with who committed it and when. */
export interface Overlap extends CopyEvidence {
  /** uid that committed the other dataset. */
  uid: number;
  /** Block at which the other dataset was committed. */
  block: number;
}

/** One uid's facts for a round, as the validator established them. */
export interface SubmissionInput {
  uid: number;
  hotkey: string;
  /** Block at which this hotkey registered in this uid. */
  registrationBlock: number;
  /** Block of the commitment in this competition; null when the uid has none. */
  commitmentBlock: number | null;
  /** Step 1, found by the caller: unparsable, wrong competition, revision does not resolve. */
  commitmentError?: string;
  /**
   * Step 1, sealed rounds: the commitment takes part in no round, or only in a later round than
   * the one scored (`roundVerdict`, rounds.ts).
   */
  roundError?: Zero;
  /** Step 2, found by the caller: structural error, over maxBytes, repo gone. */
  datasetError?: string;
  /** Step 3: rows considered (after maxRows) and how many of them match the evaluation set. */
  rows?: number;
  contaminatedRows?: number;
  /** Step 4: overlaps with other committed datasets (any of the competition, not just this round). */
  overlaps?: readonly Overlap[];
  /** Per-example evaluation losses; absent while not yet evaluated. */
  losses?: ArrayLike<number> | null;
  /** The evaluation failed for good (engine error on this data). */
  evaluationError?: string;
}

/** A uid's smoothed weight W from the previous round, keyed by the hotkey it belonged to. */
export interface SmoothedWeight {
  uid: number;
  hotkey: string;
  weight: number;
}

export interface RoundInputs {
  /** Current block t (ε decays with t − b_j). */
  currentBlock: number;
  /** Uid of the subnet owner: receives all weight when nothing else is left (burn). */
  ownerUid: number;
  /** ℓ_0: the base model's per-example losses (M > 0 examples). */
  baseLosses: ArrayLike<number>;
  /** Every uid of the metagraph (uids without a commitment have `commitmentBlock: null`). */
  submissions: readonly SubmissionInput[];
  /** W of the previous round (empty on the first round). */
  previous: readonly SmoothedWeight[];
  constants: ScoringConstants;
}

/** The step at which a uid was zeroed. */
export type ZeroStage =
  | 'no_commitment'
  | 'commitment'
  | 'dataset'
  | 'contamination'
  | 'copy'
  | 'not_evaluated'
  | 'evaluation'
  | 'base_hurdle'
  | 'competitive_filter'
  | 'smoothing';

export interface UidScore {
  uid: number;
  hotkey: string;
  /** r: this round's weight from the softmax (0 outside the competing set). */
  score: number;
  /** w: win rate within the competing set (0 outside it). */
  winRate: number;
  /** W: smoothed weight after zeroing and renormalising (what is emitted, before u16). */
  weight: number;
  /** L_i when evaluated. */
  evalLoss?: number;
  /** Why the score or the weight is zero. */
  stage?: ZeroStage;
  reason?: string;
}

export interface RoundResult {
  /** Final weights by uid, summing to 1 (the owner uid alone when everything burned). */
  weights: Array<{ uid: number; weight: number }>;
  /** W to persist for the next round (excludes the burn). */
  smoothed: SmoothedWeight[];
  /** Per uid of the inputs, in uid order. */
  perUid: UidScore[];
  /** True when nothing was left and all weight went to the owner uid. */
  burned: boolean;
}

/** A zero: the step that gave it and the reason a miner reads. */
export type Zero = { stage: ZeroStage; reason: string };

// ───────────────────────────── steps 1–5: verdicts ─────────────────────────────

/** Step 1: the commitment gate. Null when the commitment may be scored. */
export function commitmentVerdict(s: SubmissionInput): Zero | null {
  if (s.commitmentBlock === null) return { stage: 'no_commitment', reason: 'no commitment in this competition' };
  if (s.commitmentError) return { stage: 'commitment', reason: s.commitmentError };
  if (s.commitmentBlock <= s.registrationBlock) {
    return {
      stage: 'commitment',
      reason: `the commitment (block ${s.commitmentBlock}) is not newer than this hotkey's registration (block ${s.registrationBlock}); commit again`,
    };
  }
  return s.roundError ?? null;
}

/** Step 2: the dataset gate. */
export function datasetVerdict(s: SubmissionInput): Zero | null {
  if (s.datasetError) return { stage: 'dataset', reason: s.datasetError };
  if (s.rows === 0) return { stage: 'dataset', reason: 'the dataset has no rows' };
  return null;
}

/**
 * Step 3: contamination. More than `contaminationMax` of the rows matching evaluation examples
 * zeroes the dataset; fewer are dropped before training (by the caller).
 */
export function contaminationVerdict(rows: number, contaminatedRows: number, contaminationMax: number): Zero | null {
  if (rows <= 0 || contaminatedRows <= 0) return null;
  const share = contaminatedRows / rows;
  if (share <= contaminationMax) return null;
  return {
    stage: 'contamination',
    reason: `trained on the test: ${contaminatedRows} of ${rows} rows (${pct(share)}) match evaluation examples; at most ${pct(contaminationMax)} is tolerated`,
  };
}

/** True when (blockA, uidA) is earlier than (blockB, uidB): lower block, ties to the lower uid. */
export function isEarlier(blockA: number, uidA: number, blockB: number, uidB: number): boolean {
  return blockA < blockB || (blockA === blockB && uidA < uidB);
}

/** The constants step 4 reads. */
export type CopyRules = Pick<ScoringConstants, 'copyThreshold' | 'containmentMinRows'>;

/** What step 4 makes of one pair: copy or not, which direction decided, and why in words. */
export interface CopyFinding {
  copy: boolean;
  /** `own_rows`: O(i,j) ≥ threshold; `containment`: i holds enough of j's rows (protocol 2). */
  by: 'own_rows' | 'containment' | null;
  /** A sentence about the pair, naming the other dataset as `other` (without a "copy:" prefix). */
  reason: string;
}

/**
 * Step 4 for one pair: is the later dataset a copy of `other`, an earlier one?
 *
 * - Protocol 1 and 2: a copy when O(i,j) ≥ `copyThreshold` (most of its own rows are j's).
 * - Protocol 2 (`containmentMinRows` set): also a copy when it holds C(i,j) ≥ `copyThreshold` of
 *   j's rows and those held rows number at least `containmentMinRows`. Adding new rows around a
 *   whole earlier dataset lowers O but not C, so dilution does not escape. The minimum count keeps
 *   incidental overlap out: a small earlier dataset whose few rows came from a public source that a
 *   large honest dataset also drew on is not "most of someone's work".
 *
 * @example
 * judgeCopy({ fraction: 1 / 3, otherMatched: 300, otherRows: 300 }, DEFAULT_SCORING_CONSTANTS_V2, 'the dataset of uid 4').copy // true
 */
export function judgeCopy(e: CopyEvidence, rules: CopyRules, other: string): CopyFinding {
  const t = rules.copyThreshold;
  const min = rules.containmentMinRows;
  const measured = e.otherMatched !== undefined && e.otherRows !== undefined && e.otherRows > 0;
  const held = measured ? e.otherMatched! : 0;
  const containment = measured ? held / e.otherRows! : 0;
  if (e.fraction >= t) {
    return { copy: true, by: 'own_rows', reason: `${pct(e.fraction)} of its rows match ${other}; at least ${pct(t)} counts as a copy` };
  }
  if (min === undefined) {
    return { copy: false, by: null, reason: `${pct(e.fraction)} of its rows match ${other}; a copy needs at least ${pct(t)} (protocol 1 does not count how much of the other dataset it holds)` };
  }
  const holds = measured ? `it holds ${held} of the ${e.otherRows} rows (${pct(containment)}) of ${other}` : null;
  if (holds && containment >= t && held >= min) {
    return {
      copy: true, by: 'containment',
      reason: `${holds}, though only ${pct(e.fraction)} of its own rows match; holding at least ${pct(t)} of an earlier dataset's rows, and at least ${min} of them, counts as a copy however many rows are added`,
    };
  }
  if (!holds) {
    return { copy: false, by: null, reason: `${pct(e.fraction)} of its rows match ${other}; a copy needs at least ${pct(t)} (how much of the other dataset it holds was not measured)` };
  }
  if (containment >= t) {
    return {
      copy: false, by: null,
      reason: `${holds} and ${pct(e.fraction)} of its own rows match, but ${held} held rows are under the ${min} a copy by containment needs: a few shared rows (say, from the same public source) are incidental, not a copy`,
    };
  }
  return { copy: false, by: null, reason: `${holds} and ${pct(e.fraction)} of its own rows match; a copy needs ${pct(t)} either way` };
}

/**
 * Step 4: copies. A submission is a copy when `judgeCopy` finds it one against a dataset committed
 * earlier (by another uid); the reason names the earliest such dataset.
 */
export function copyVerdict(uid: number, block: number, overlaps: readonly Overlap[], rules: CopyRules): Zero | null {
  let source: { o: Overlap; finding: CopyFinding } | null = null;
  for (const o of overlaps) {
    if (o.uid === uid || !isEarlier(o.block, o.uid, block, uid)) continue;
    const finding = judgeCopy(o, rules, otherName(o, block));
    if (!finding.copy) continue;
    if (source === null || isEarlier(o.block, o.uid, source.o.block, source.o.uid) || (o.uid === source.o.uid && strongerFinding(finding, o, source))) {
      source = { o, finding };
    }
  }
  return source === null ? null : { stage: 'copy', reason: `copy: ${source.finding.reason}` };
}

function otherName(o: Overlap, block: number): string {
  return `the dataset of uid ${o.uid}, committed earlier (block ${o.block}, this one ${block})`;
}

/** Between two findings against the same uid: its own rows first, then the larger share (so input order never matters). */
function strongerFinding(f: CopyFinding, o: Overlap, than: { o: Overlap; finding: CopyFinding }): boolean {
  if (f.by !== than.finding.by) return f.by === 'own_rows';
  if (o.fraction !== than.o.fraction) return o.fraction > than.o.fraction;
  return (o.otherMatched ?? 0) > (than.o.otherMatched ?? 0);
}

/** What steps 3–4 need about one dataset, as a validator (or the miner's preview) measured it. */
export interface TrainingEvidence {
  uid: number;
  /** Commitment block (for the preview: the block it would land in). */
  block: number;
  /** Rows considered (after maxRows) and how many match the evaluation set. */
  rows: number;
  contaminatedRows: number;
  overlaps: readonly Overlap[];
}

/**
 * Steps 3–4: the verdicts that zero a dataset before it is trained (contamination, then copies).
 * The validator skips training when this is not null; the miner's preview shows the same verdict.
 */
export function trainingVerdict(e: TrainingEvidence, c: Pick<ScoringConstants, 'contaminationMax' | 'copyThreshold' | 'containmentMinRows'>): Zero | null {
  return contaminationVerdict(e.rows, e.contaminatedRows, c.contaminationMax) ?? copyVerdict(e.uid, e.block, e.overlaps, c);
}

/** Step 5: the base hurdle. L_i must be below (1 − baseMargin)·L_0. */
export function baseHurdleVerdict(evalLoss: number, baseLoss: number, baseMargin: number): Zero | null {
  const bar = (1 - baseMargin) * baseLoss;
  if (evalLoss < bar) return null;
  return {
    stage: 'base_hurdle',
    reason: `did not help the model: eval loss ${fmt(evalLoss)} is not ${pct(baseMargin)} below the base model's ${fmt(baseLoss)} (needs < ${fmt(bar)})`,
  };
}

// ───────────────────────────── steps 6–9: competition ─────────────────────────────

/** Step 6: ε_j(t) = ε_end + (ε_start − ε_end)·max(0, 1 − (t − b_j)/T). */
export function epsilonAt(currentBlock: number, earlierBlock: number, c: Pick<ScoringConstants, 'epsilonStart' | 'epsilonEnd' | 'epsilonDecayBlocks'>): number {
  const age = Math.max(0, currentBlock - earlierBlock);
  const left = c.epsilonDecayBlocks > 0 ? Math.max(0, 1 - age / c.epsilonDecayBlocks) : 0;
  return c.epsilonEnd + (c.epsilonStart - c.epsilonEnd) * left;
}

/**
 * Step 6: the one-sided paired test. With d(x) = ℓ_i(x) − (1 − ε)·ℓ_j(x), the later i beats the
 * earlier j iff mean(d) + z·sd(d)/√M < 0 (sd with M − 1 degrees of freedom; 0 when M = 1).
 */
export function laterBeatsEarlier(later: ArrayLike<number>, earlier: ArrayLike<number>, epsilon: number, z: number): boolean {
  const m = later.length;
  if (m === 0 || earlier.length !== m) throw new RangeError(`paired test needs two loss vectors of the same non-zero length (got ${m} and ${earlier.length})`);
  const keep = 1 - epsilon;
  let sum = 0;
  for (let x = 0; x < m; x++) sum += later[x]! - keep * earlier[x]!;
  const mean = sum / m;
  let ss = 0;
  for (let x = 0; x < m; x++) {
    const dev = later[x]! - keep * earlier[x]! - mean;
    ss += dev * dev;
  }
  const sd = m > 1 ? Math.sqrt(ss / (m - 1)) : 0;
  return mean + (z * sd) / Math.sqrt(m) < 0;
}

/** A submission that reached step 6 (passed steps 1–5). */
export interface Contender {
  uid: number;
  block: number;
  losses: ArrayLike<number>;
  evalLoss: number;
}

/**
 * Step 7: the competitive filter. Returns, for each dropped uid, the earlier contender it fails
 * to beat by ε_end on mean loss. Compared against every valid earlier contender (dropped or not),
 * so the result does not depend on processing order.
 */
export function competitiveFilter(contenders: readonly Contender[], epsilonEnd: number): Map<number, Contender> {
  const dropped = new Map<number, Contender>();
  for (const i of contenders) {
    for (const j of contenders) {
      if (j === i || !isEarlier(j.block, j.uid, i.block, i.uid)) continue;
      if (i.evalLoss >= (1 - epsilonEnd) * j.evalLoss) {
        const prev = dropped.get(i.uid);
        if (!prev || isEarlier(j.block, j.uid, prev.block, prev.uid)) dropped.set(i.uid, j);
      }
    }
  }
  return dropped;
}

/**
 * Step 8: win rates over the competing set C. Each pair is decided once: the later one wins iff
 * it passes the paired test against the earlier one with the earlier one's ε; otherwise the
 * earlier one wins. w_i = wins_i / (|C| − 1); a lone contender has w = 1.
 */
export function winRates(set: readonly Contender[], currentBlock: number, c: ScoringConstants): Map<number, number> {
  const wins = new Map<number, number>(set.map((s) => [s.uid, 0]));
  for (const a of set) {
    for (const b of set) {
      if (!isEarlier(a.block, a.uid, b.block, b.uid)) continue; // a earlier, b later
      const eps = epsilonAt(currentBlock, a.block, c);
      const winner = laterBeatsEarlier(b.losses, a.losses, eps, c.z) ? b : a;
      wins.set(winner.uid, wins.get(winner.uid)! + 1);
    }
  }
  const rates = new Map<number, number>();
  for (const s of set) rates.set(s.uid, set.length === 1 ? 1 : wins.get(s.uid)! / (set.length - 1));
  return rates;
}

/** Step 9: r = softmax(w / τ) (max-shifted for stability). */
export function softmax(values: readonly number[], tau: number): number[] {
  if (values.length === 0) return [];
  const max = Math.max(...values);
  const e = values.map((v) => Math.exp((v - max) / tau));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / total);
}

// ───────────────────────────── steps 10–11: weights ─────────────────────────────

/**
 * Step 10: W ← (1 − α)·W + α·r per uid; a uid whose hotkey changed starts from 0; uids absent
 * from `round` are dropped; entries below `minWeight` are zeroed and the rest renormalised
 * (all zero stays all zero: the caller burns).
 */
export function smoothWeights(
  previous: readonly SmoothedWeight[],
  round: ReadonlyArray<{ uid: number; hotkey: string; score: number }>,
  alpha: number,
  minWeight: number,
): SmoothedWeight[] {
  const prev = new Map(previous.map((p) => [p.uid, p]));
  const raw = round.map((u) => {
    const p = prev.get(u.uid);
    const before = p && p.hotkey === u.hotkey ? p.weight : 0;
    const w = (1 - alpha) * before + alpha * u.score;
    return { uid: u.uid, hotkey: u.hotkey, weight: w >= minWeight ? w : 0 };
  });
  const total = raw.reduce((a, u) => a + u.weight, 0);
  return raw.map((u) => ({ ...u, weight: total > 0 ? u.weight / total : 0 }));
}

/** u16 maximum. */
export const U16_MAX = 65_535;

/**
 * Step 11: max-upscale to u16 as the chain's weight check expects: all zero if the max is 0,
 * else round_half_away(v·65535/max). Zero entries are left out (the SDK does the same); uids are
 * sorted ascending.
 */
export function toU16Weights(weights: ReadonlyArray<{ uid: number; weight: number }>): { uids: number[]; values: number[] } {
  const sorted = [...weights].sort((a, b) => a.uid - b.uid);
  const max = sorted.reduce((m, w) => Math.max(m, w.weight), 0);
  const uids: number[] = [];
  const values: number[] = [];
  if (!(max > 0)) return { uids, values };
  for (const w of sorted) {
    // all inputs are ≥ 0, so Math.round (half up) is round-half-away-from-zero here
    const v = Math.round((w.weight * U16_MAX) / max);
    if (v > 0) {
      uids.push(w.uid);
      values.push(Math.min(U16_MAX, v));
    }
  }
  return { uids, values };
}

// ───────────────────────────── the round ─────────────────────────────

/** Mean of a loss vector. */
export function meanLoss(losses: ArrayLike<number>): number {
  let s = 0;
  for (let x = 0; x < losses.length; x++) s += losses[x]!;
  return s / losses.length;
}

function lossesProblem(losses: ArrayLike<number>, m: number): string | null {
  if (losses.length !== m) return `the evaluation returned ${losses.length} losses for ${m} evaluation examples`;
  for (let x = 0; x < m; x++) {
    const v = losses[x]!;
    if (!Number.isFinite(v) || v < 0) return `the evaluation returned an invalid loss (${v}) for example ${x}`;
  }
  return null;
}

/**
 * Run scoring steps 1–10 for one round and return the final weights (summing to 1), the
 * smoothed W to persist, and per-uid scores with a reason for every zero. Deterministic: the
 * result depends only on the inputs, not on their order.
 *
 * @example
 * const { weights } = scoreRound({ currentBlock, ownerUid: 0, baseLosses, submissions, previous: [], constants: DEFAULT_SCORING_CONSTANTS });
 * const { uids, values } = toU16Weights(weights);
 */
export function scoreRound(inputs: RoundInputs): RoundResult {
  const c = inputs.constants;
  const m = inputs.baseLosses.length;
  if (m === 0) throw new RangeError('scoreRound needs the base model losses of at least one evaluation example');
  const baseProblem = lossesProblem(inputs.baseLosses, m);
  if (baseProblem) throw new RangeError(`base model losses: ${baseProblem}`);
  const baseLoss = meanLoss(inputs.baseLosses);

  const subs = [...inputs.submissions].sort((a, b) => a.uid - b.uid);
  for (let k = 1; k < subs.length; k++) {
    if (subs[k]!.uid === subs[k - 1]!.uid) throw new RangeError(`uid ${subs[k]!.uid} appears twice in the round inputs`);
  }

  const zero = new Map<number, Zero>();
  const evalLoss = new Map<number, number>();
  const contenders: Contender[] = [];
  for (const s of subs) {
    const verdict =
      commitmentVerdict(s) ??
      datasetVerdict(s) ??
      trainingVerdict({ uid: s.uid, block: s.commitmentBlock!, rows: s.rows ?? 0, contaminatedRows: s.contaminatedRows ?? 0, overlaps: s.overlaps ?? [] }, c) ??
      evaluationVerdict(s, m);
    if (verdict) {
      zero.set(s.uid, verdict);
      continue;
    }
    const losses = s.losses!;
    const L = meanLoss(losses);
    evalLoss.set(s.uid, L);
    const hurdle = baseHurdleVerdict(L, baseLoss, c.baseMargin);
    if (hurdle) {
      zero.set(s.uid, hurdle);
      continue;
    }
    contenders.push({ uid: s.uid, block: s.commitmentBlock!, losses, evalLoss: L });
  }

  const filtered = competitiveFilter(contenders, c.epsilonEnd);
  for (const [uid, j] of filtered) {
    zero.set(uid, {
      stage: 'competitive_filter',
      reason: `no better than an earlier submission: eval loss ${fmt(evalLoss.get(uid)!)} is not ${pct(c.epsilonEnd)} below uid ${j.uid}'s ${fmt(j.evalLoss)} (committed at block ${j.block})`,
    });
  }
  const competing = contenders.filter((s) => !filtered.has(s.uid));
  const rates = winRates(competing, inputs.currentBlock, c);
  const r = softmax(competing.map((s) => rates.get(s.uid)!), c.tau);
  const score = new Map<number, number>(competing.map((s, k) => [s.uid, r[k]!]));

  const smoothed = smoothWeights(
    inputs.previous,
    subs.map((s) => ({ uid: s.uid, hotkey: s.hotkey, score: score.get(s.uid) ?? 0 })),
    c.emaAlpha,
    c.minWeight,
  );
  const weightOf = new Map(smoothed.map((w) => [w.uid, w.weight]));
  const burned = smoothed.every((w) => w.weight === 0);

  const perUid: UidScore[] = subs.map((s) => {
    const out: UidScore = {
      uid: s.uid,
      hotkey: s.hotkey,
      score: score.get(s.uid) ?? 0,
      winRate: rates.get(s.uid) ?? 0,
      weight: weightOf.get(s.uid) ?? 0,
    };
    const L = evalLoss.get(s.uid);
    if (L !== undefined) out.evalLoss = L;
    const z = zero.get(s.uid);
    if (z) {
      out.stage = z.stage;
      out.reason = z.reason;
    } else if (out.weight === 0) {
      out.stage = 'smoothing';
      out.reason = `smoothed weight below ${c.minWeight} (this round ${fmt(out.score)}; weights move by ${pct(c.emaAlpha)} of the round each round)`;
    }
    return out;
  });

  const weights = burned
    ? [{ uid: inputs.ownerUid, weight: 1 }]
    : smoothed.filter((w) => w.weight > 0).map((w) => ({ uid: w.uid, weight: w.weight }));
  return { weights, smoothed, perUid, burned };
}

function evaluationVerdict(s: SubmissionInput, m: number): Zero | null {
  if (s.evaluationError) return { stage: 'evaluation', reason: s.evaluationError };
  if (s.losses === undefined || s.losses === null) return { stage: 'not_evaluated', reason: 'not evaluated yet (queued)' };
  const problem = lossesProblem(s.losses, m);
  return problem ? { stage: 'evaluation', reason: problem } : null;
}

function pct(x: number): string {
  return `${Number((x * 100).toPrecision(4))}%`;
}

function fmt(x: number): string {
  return Number(x.toPrecision(6)).toString();
}
