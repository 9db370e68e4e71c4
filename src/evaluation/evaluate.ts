/**
 * The job "evaluate dataset D of competition C" as validators run it (docs/protocol.md, "The
 * recipe"): the competition's recipe and seed, the dataset's rows with contaminated rows dropped
 * (scoring step 3), trained and evaluated by the engine (`runEvaluation`), or the base model
 * evaluated with no training. The validator loop and the miner's preview both call this; progress
 * comes back through callbacks. With an adapter cache, an adapter trained earlier from the same
 * rows, recipe, seed, base model and compute identity is evaluated instead of training again
 * (a dataset carried over to the next round's evaluation set).
 */
import type { CanonicalRow } from '../dataset/index.js';
import type { Adapter } from '../engine/adapter.js';
import type { Backend } from '../engine/backend/backend.js';
import type { EvalProgress } from '../engine/evaluate.js';
import { computeIdentity, EngineInputError, runEvaluation, stableHash, type Receipt } from '../engine/run.js';
import type { TrainProgress } from '../engine/train.js';
import { FlockError } from '../util/errors.js';
import { adapterCacheKey, type AdapterCache } from './adapter-cache.js';
import type { LoadedCompetition } from './competition.js';
import { loadTrainingSet, type TrainingOutcome } from './training-set.js';

export interface EvaluationOutcome {
  losses: number[];
  evalLoss: number;
  receipt: Receipt & { droppedContaminatedRows: number };
  /** True when a cached adapter was evaluated instead of training (then `trainSeconds` is 0). */
  reusedAdapter: boolean;
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
  /** Trained adapters kept across evaluations (never used for the base model). */
  adapters?: AdapterCache;
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
  const cacheKey = p.adapters && trainRows ? adapterCacheKey({
    rowHashes: trainRows.map((r) => r.hash), recipeHash: stableHash(c.competition.recipe), seed: c.seed,
    modelHash: c.checkpoint.hash, compute: computeIdentity(p.backend).key,
  }) : undefined;
  const cached: Adapter | undefined = cacheKey ? p.adapters!.get(cacheKey, c.checkpoint.config) : undefined;
  try {
    const r = await runEvaluation({
      checkpoint: c.checkpoint,
      baseModel: c.competition.baseModel.repo,
      recipe: c.competition.recipe,
      evalRows: c.evalRows,
      evalSetHash: c.evalSetHash,
      trainRows: cached ? undefined : trainRows,
      adapter: cached,
      datasetHash: p.identity ?? undefined,
      seed: c.seed,
      backend: p.backend,
      onTrainStep: p.onTrainStep,
      onEvalProgress: p.onEvalProgress,
    });
    if (cacheKey && !cached && r.adapter) p.adapters!.put(cacheKey, r.adapter, c.checkpoint.config);
    return {
      losses: r.perExample, evalLoss: r.evalLoss, receipt: { ...r.receipt, droppedContaminatedRows: dropped }, reusedAdapter: cached !== undefined,
      trainSeconds: cached ? 0 : r.trainSeconds, evalSeconds: r.evalSeconds, seconds: r.seconds,
    };
  } catch (err) {
    // the engine refuses data it cannot train on (no target token left after truncation, …);
    // a fault of the device (lost, out of memory) is not the dataset's and passes through
    if (err instanceof EngineInputError) throw new DatasetEvaluationError(err.message, { cause: err });
    throw err;
  }
}
