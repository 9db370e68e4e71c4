/**
 * The job "evaluate dataset D of competition C" as validators run it (docs/protocol.md, "The
 * recipe"): the competition's recipe and seed, the dataset's rows with contaminated rows dropped
 * (scoring step 3), trained and evaluated by the engine (`runEvaluation`), or the base model
 * evaluated with no training. The validator loop and the miner's preview both call this; progress
 * comes back through callbacks.
 */
import type { CanonicalRow } from '../dataset/index.js';
import type { Backend } from '../engine/backend/backend.js';
import type { EvalProgress } from '../engine/evaluate.js';
import { EngineInputError, runEvaluation, type Receipt } from '../engine/run.js';
import type { TrainProgress } from '../engine/train.js';
import { FlockError } from '../util/errors.js';
import type { LoadedCompetition } from './competition.js';
import { loadTrainingSet, type TrainingOutcome } from './training-set.js';

export interface EvaluationOutcome {
  losses: number[];
  evalLoss: number;
  receipt: Receipt & { droppedContaminatedRows: number };
  trainSeconds: number;
  evalSeconds: number;
  seconds: number;
}

/** An evaluation that can never succeed on this data (the dataset scores 0 with this reason). */
export class DatasetEvaluationError extends FlockError {
  override name = 'DatasetEvaluationError';
}

/** What an evaluation reports while it runs. */
export interface EvaluationProgress {
  /** After each optimizer step. */
  onTrainStep?: (p: TrainProgress) => void;
  /** After each evaluation example. */
  onEvalProgress?: (p: EvalProgress) => void;
}

/**
 * Evaluate the base model (`datasetPath` null) or train on a dataset file and evaluate.
 *
 * @example
 * const r = await evaluateDataset({ competition, backend, datasetPath: '/cache/…/data.jsonl', identity,
 *   onTrainStep: (s) => console.log(`step ${s.step}/${s.totalSteps}`) });
 */
export async function evaluateDataset(p: EvaluationProgress & {
  competition: LoadedCompetition;
  backend: Backend;
  datasetPath: string | null;
  identity: string | null;
  /** The dataset's training rows, when read ahead (else read here from `datasetPath`). */
  training?: Promise<TrainingOutcome>;
}): Promise<EvaluationOutcome> {
  const { competition: c } = p;
  const limits = c.competition.limits;
  let trainRows: { row: CanonicalRow; hash: string }[] | undefined;
  let dropped = 0;
  if (p.datasetPath) {
    const set = await (p.training ?? loadTrainingSet({ path: p.datasetPath, maxBytes: limits.maxBytes, maxRows: limits.maxRows, evalFingerprints: c.evalFingerprints }));
    if (set.kind === 'unusable') throw new DatasetEvaluationError(set.reason);
    trainRows = set.rows;
    dropped = set.dropped;
  }
  try {
    const r = await runEvaluation({
      checkpoint: c.checkpoint,
      baseModel: c.competition.baseModel.repo,
      recipe: c.competition.recipe,
      evalRows: c.evalRows,
      evalSetHash: c.evalSetHash,
      trainRows,
      datasetHash: p.identity ?? undefined,
      seed: c.seed,
      backend: p.backend,
      onTrainStep: p.onTrainStep,
      onEvalProgress: p.onEvalProgress,
    });
    return {
      losses: r.perExample, evalLoss: r.evalLoss, receipt: { ...r.receipt, droppedContaminatedRows: dropped },
      trainSeconds: r.trainSeconds, evalSeconds: r.evalSeconds, seconds: r.seconds,
    };
  } catch (err) {
    // the engine refuses data it cannot train on (no target token left after truncation, …);
    // a fault of the device (lost, out of memory) is not the dataset's and passes through
    if (err instanceof EngineInputError) throw new DatasetEvaluationError(err.message, { cause: err });
    throw err;
  }
}
