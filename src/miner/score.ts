/**
 * `flock miner score`: the validators' evaluation of a dataset, run locally before paying for a
 * commitment. The competition, evaluation set and base model come from the hub at the pinned
 * revision; training uses the evaluation layer validators use (same engine, recipe and seed), so
 * the loss is the one validators will measure. Also the verdicts that zero a dataset before training:
 * contamination (rows matching evaluation examples) and copies of datasets already committed.
 */
import type { Backend } from '../engine/backend/backend.js';
import { contamination, overlap, validateDataset, formatErrors } from '../dataset/index.js';
import type { HubClient } from '../hub/index.js';
import type { CompetitionPointer } from '../protocol/index.js';
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
  /** Committed datasets this one overlaps at or above the copy threshold (it would be the later one). */
  copies: Array<{ uid: number; block: number; overlap: number }>;
  seconds: number;
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
  const cont = contamination(ds.fingerprints, c.evalFingerprints);
  const fraction = ds.rows.length ? cont.contaminatedRows.length / ds.rows.length : 0;
  const copies: ScoreReport['copies'] = [];
  for (const other of o.committed ?? []) {
    const path = await o.hub.downloadFile({ repo: other.repo, type: 'dataset', revision: other.revision, path: DATASET_FILE, maxBytes: limits.maxBytes }).catch(() => null);
    if (!path) continue;
    const theirs = await validateDataset(path, { maxFileBytes: limits.maxBytes, maxRows: limits.maxRows });
    if (theirs.errorCount > 0) continue;
    const ov = overlap(ds.fingerprints, theirs.fingerprints).overlap;
    if (ov >= c.competition.scoring.copyThreshold) copies.push({ uid: other.uid, block: other.block, overlap: ov });
  }
  const base = await evaluateDataset({ competition: c, backend: o.backend, datasetPath: null, identity: null });
  const mine = await evaluateDataset({
    competition: c, backend: o.backend, datasetPath: o.datasetPath, identity: ds.identity, onTrainStep: (s) => o.onProgress?.(s.step, s.totalSteps),
  });
  return {
    competitionId: c.competition.id, rows: ds.rows.length, baseLoss: base.evalLoss, evalLoss: mine.evalLoss,
    improvement: 1 - mine.evalLoss / base.evalLoss,
    beatsBase: mine.evalLoss < (1 - c.competition.scoring.baseMargin) * base.evalLoss,
    contamination: { contaminatedRows: cont.contaminatedRows.length, fraction, max: c.competition.scoring.contaminationMax, zero: fraction > c.competition.scoring.contaminationMax },
    copies, seconds: (performance.now() - started) / 1000,
  };
}
