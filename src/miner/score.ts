/**
 * `flock miner score`: the validators' evaluation of a dataset, run locally before paying for a
 * commitment. The competition, evaluation set and base model come from the hub at the pinned
 * revision; training uses the evaluation layer validators use (same engine, recipe and seed), so
 * the loss is the one validators will measure. Also the verdicts that zero a dataset before training:
 * contamination (rows matching evaluation examples) and copies of datasets already committed. Every
 * verdict comes from the protocol's functions (`trainingVerdict`, `copyVerdict`, `baseHurdleVerdict`)
 * given the same evidence a validator gathers, so the preview cannot drift from the validators.
 */
import type { Backend } from '../engine/backend/backend.js';
import { contamination, twoWayOverlap, validateDataset, formatErrors, type DatasetFingerprints } from '../dataset/index.js';
import type { HubClient } from '../hub/index.js';
import { baseHurdleVerdict, contaminationVerdict, copyVerdict, trainingVerdict, type CompetitionPointer, type Overlap, type TrainingEvidence, type Zero } from '../protocol/index.js';
import { FlockError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { loadCompetition } from '../evaluation/competition.js';
import { evaluateDataset } from '../evaluation/evaluate.js';
import { DATASET_FILE } from './submit.js';

/** A dataset already committed in the competition (for the copy check). */
export interface CommittedDataset {
  uid: number;
  block: number;
  repo: string;
  revision: string;
}

export interface ScoreOptions {
  hub: HubClient;
  pointer: CompetitionPointer;
  datasetPath: string;
  backend: Backend;
  log: Logger;
  /** Datasets committed so far: the copy check compares against each. */
  committed?: CommittedDataset[];
  /** The miner's uid, when registered: its own earlier commitment is not a dataset it can copy. */
  uid?: number;
  /** The block the commitment would land in (default: after every committed dataset). */
  block?: number;
  /** Training progress (optimizer step of total), for a progress bar. */
  onProgress?: (step: number, total: number) => void;
}

export interface ScoreReport {
  competitionId: string;
  rows: number;
  baseLoss: number;
  evalLoss: number;
  /** 1 − evalLoss / baseLoss. */
  improvement: number;
  /** Passes scoring step 5 (lowers the base loss by at least baseMargin). */
  beatsBase: boolean;
  contamination: { contaminatedRows: number; fraction: number; max: number; zero: boolean };
  /**
   * Committed datasets this one would be a copy of (it would be the later one): O, the share of its
   * rows found in theirs; C, the share of their rows it holds; and the verdict's reason.
   */
  copies: Array<{ uid: number; block: number; overlap: number; containment: number; reason: string }>;
  /** The first zero a validator would give (steps 3–5, as `scoreRound` orders them), or null. */
  verdict: Zero | null;
  /** What the verdicts of steps 3–4 were computed from. */
  evidence: TrainingEvidence;
  seconds: number;
}

/** A committed dataset's fingerprints, with who committed it and when. */
export interface CommittedFingerprints {
  uid: number;
  block: number;
  fingerprints: DatasetFingerprints;
}

/**
 * The evidence of steps 3–4 for a dataset about to be committed, measured as a validator measures
 * it: rows, rows matching the evaluation set, and both directions of its overlap with every
 * committed dataset it shares a row with.
 */
export function previewEvidence(p: {
  fingerprints: DatasetFingerprints;
  evalFingerprints: DatasetFingerprints;
  committed: readonly CommittedFingerprints[];
  uid: number;
  block: number;
}): TrainingEvidence {
  const overlaps: Overlap[] = [];
  for (const other of p.committed) {
    const o = twoWayOverlap(p.fingerprints, other.fingerprints);
    if (o.matched > 0) overlaps.push({ uid: other.uid, block: other.block, fraction: o.overlap, otherMatched: o.otherMatched, otherRows: o.otherRows });
  }
  return {
    uid: p.uid, block: p.block, rows: p.fingerprints.rows,
    contaminatedRows: contamination(p.fingerprints, p.evalFingerprints).contaminatedRows.length, overlaps,
  };
}

/**
 * Score a dataset as the validators will.
 *
 * @example
 * const r = await scoreDataset({ hub, pointer, datasetPath: 'data.jsonl', backend, log });
 * console.log(r.baseLoss, r.evalLoss, r.contamination.zero);
 */
export async function scoreDataset(o: ScoreOptions): Promise<ScoreReport> {
  const started = performance.now();
  const c = await loadCompetition(o.hub, o.pointer, o.log);
  const limits = c.competition.limits;
  const ds = await validateDataset(o.datasetPath, { maxFileBytes: limits.maxBytes, maxRows: limits.maxRows });
  if (ds.errorCount > 0) throw new FlockError(`${o.datasetPath} is invalid: validators would score it 0`, { details: formatErrors(ds) });
  const scoring = c.competition.scoring;
  const committed: CommittedFingerprints[] = [];
  for (const other of o.committed ?? []) {
    const path = await o.hub.downloadFile({ repo: other.repo, type: 'dataset', revision: other.revision, path: DATASET_FILE, maxBytes: limits.maxBytes }).catch(() => null);
    if (!path) continue;
    const theirs = await validateDataset(path, { maxFileBytes: limits.maxBytes, maxRows: limits.maxRows });
    if (theirs.errorCount > 0) continue;
    committed.push({ uid: other.uid, block: other.block, fingerprints: theirs.fingerprints });
  }
  const block = o.block ?? 1 + Math.max(0, ...committed.map((x) => x.block));
  const evidence = previewEvidence({ fingerprints: ds.fingerprints, evalFingerprints: c.evalFingerprints, committed, uid: o.uid ?? -1, block });
  const copies: ScoreReport['copies'] = [];
  for (const ov of evidence.overlaps) {
    const zero = copyVerdict(evidence.uid, evidence.block, [ov], scoring);
    if (zero) copies.push({ uid: ov.uid, block: ov.block, overlap: ov.fraction, containment: ov.otherRows ? ov.otherMatched! / ov.otherRows : 0, reason: zero.reason });
  }
  const fraction = evidence.rows ? evidence.contaminatedRows / evidence.rows : 0;
  const base = await evaluateDataset({ competition: c, backend: o.backend, datasetPath: null, identity: null });
  const mine = await evaluateDataset({
    competition: c, backend: o.backend, datasetPath: o.datasetPath, identity: ds.identity, onTrainStep: (s) => o.onProgress?.(s.step, s.totalSteps),
  });
  const hurdle = baseHurdleVerdict(mine.evalLoss, base.evalLoss, scoring.baseMargin);
  return {
    competitionId: c.competition.id, rows: ds.rows.length, baseLoss: base.evalLoss, evalLoss: mine.evalLoss,
    improvement: 1 - mine.evalLoss / base.evalLoss,
    beatsBase: hurdle === null,
    contamination: {
      contaminatedRows: evidence.contaminatedRows, fraction, max: scoring.contaminationMax,
      zero: contaminationVerdict(evidence.rows, evidence.contaminatedRows, scoring.contaminationMax) !== null,
    },
    copies, verdict: trainingVerdict(evidence, scoring) ?? hurdle, evidence, seconds: (performance.now() - started) / 1000,
  };
}
