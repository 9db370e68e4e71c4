/**
 * Running one evaluation job on a worker, whatever delivers it: load the competition revision
 * (cached), download the dataset file through the worker's own hub client, check it is the
 * dataset the job names, train and evaluate (`evaluateDataset`), report progress. Failures are
 * sorted for the queue: `EvaluationJobError` for those no retry can fix (the dataset's fault, the
 * competition's, a job this worker must not run), anything else is transient (hub outages, a
 * lost device) and may succeed on a later attempt. `JobReleasedError` means the caller asked to
 * give the job back (`signal`) and it stopped between two steps.
 */
import type { Backend } from '../engine/backend/backend.js';
import { computeIdentity, type ComputeIdentity } from '../engine/run.js';
import { IntegrityError, UnauthorizedError, isTransientHubError, HubError, type HubClient } from '../hub/index.js';
import type { CompetitionPointer } from '../protocol/index.js';
import { FlockError, errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { AdapterCache } from './adapter-cache.js';
import { CompetitionError, competitionKey, loadCompetition, type LoadedCompetition } from './competition.js';
import { DatasetEvaluationError, evaluateDataset } from './evaluate.js';
import type { EvaluationFailureKind, EvaluationJob, EvaluationJobResult } from './jobs.js';
import { loadTrainingSet } from './training-set.js';

/** A job that no retry can fix, with the kind of failure the queue records. */
export class EvaluationJobError extends FlockError {
  override name = 'EvaluationJobError';
  constructor(readonly kind: Exclude<EvaluationFailureKind, 'transient'>, message: string, options: { cause?: unknown } = {}) {
    super(message, options);
  }
}

/**
 * The job was given back on request before it finished (not a `FlockError`, so the evaluation
 * layer passes it through untouched).
 */
export class JobReleasedError extends Error {
  override name = 'JobReleasedError';
  constructor() {
    super('the job was released before it finished');
  }
}

/** Where a running job is. */
export type JobProgress =
  | { phase: 'loading' }
  | { phase: 'training'; step: number; totalSteps: number; epoch: number; loss: number }
  | { phase: 'evaluating'; done: number; total: number };

export interface JobRunnerOptions {
  backend: Backend;
  /** The worker's own hub client (its cache, its token). */
  hub: HubClient;
  log: Logger;
  /** The worker's name, written into results. */
  worker: string;
  /** Log and report training progress every this many optimizer steps (default 25). */
  progressEvery?: number;
  /** Competition revisions kept loaded (default 2: the current one and the one before). */
  competitions?: number;
  /** Trained adapters kept across jobs (a dataset evaluated again is not trained again). */
  adapters?: AdapterCache;
}

export interface RunJobOptions {
  /** The job's id (for log lines). */
  id: string;
  /** Aborted when the job must be given back: the run stops at the next step with `JobReleasedError`. */
  signal?: AbortSignal;
  onProgress?: (p: JobProgress) => void;
}

export class JobRunner {
  readonly compute: ComputeIdentity;
  private readonly loaded = new Map<string, Promise<LoadedCompetition>>();

  constructor(private readonly options: JobRunnerOptions) {
    this.compute = computeIdentity(options.backend);
  }

  /**
   * Run `job` and return its result. Throws `EvaluationJobError` for failures no retry can fix,
   * `JobReleasedError` when `signal` aborted it, anything else for transient faults.
   */
  async run(job: EvaluationJob, o: RunJobOptions): Promise<EvaluationJobResult> {
    const released = () => {
      if (o.signal?.aborted) throw new JobReleasedError();
    };
    if (job.compute !== this.compute.key) {
      throw new EvaluationJobError('refused', `the job asks for compute "${job.compute}" but this worker computes "${this.compute.key}"`);
    }
    const what = job.dataset ? `dataset ${job.dataset.identity.slice(0, 12)} (${job.dataset.repoId}@${job.dataset.revision.slice(0, 12)})` : 'the base model';
    const log = this.options.log.child({ job: o.id.slice(0, 12) });
    log.info(`evaluating ${what}`, { competition: competitionKey(job.competition.competitionId, job.competition.revision.slice(0, 12)) });
    o.onProgress?.({ phase: 'loading' });
    const competition = await this.competition(job.competition);
    released();
    const limits = competition.competition.limits;
    let path: string | null = null;
    let training: Awaited<ReturnType<typeof loadTrainingSet>> | undefined;
    if (job.dataset) {
      const d = job.dataset;
      try {
        path = await this.options.hub.downloadFile({ repo: d.repoId, type: 'dataset', revision: d.revision, path: d.path, maxBytes: limits.maxBytes });
      } catch (err) {
        throw datasetDownloadFault(err, `${d.repoId}@${d.revision.slice(0, 12)}`, d.path);
      }
      training = await loadTrainingSet({ path, maxBytes: limits.maxBytes, maxRows: limits.maxRows, evalFingerprints: competition.evalFingerprints });
      if (training.kind === 'training' && training.identity !== d.identity) {
        throw new EvaluationJobError('integrity', `${d.path} at ${d.repoId}@${d.revision.slice(0, 12)} has dataset identity ${training.identity}, the job names ${d.identity}`);
      }
      released();
    }
    const every = Math.max(1, this.options.progressEvery ?? 25);
    try {
      const r = await evaluateDataset({
        competition, backend: this.options.backend, datasetPath: path, identity: job.dataset?.identity ?? null,
        training: training && Promise.resolve(training), adapters: this.options.adapters,
        onTrainStep: (s) => {
          released();
          if (s.step % every !== 0 && s.step !== s.totalSteps) return;
          log.info(`training ${s.step}/${s.totalSteps}`, { epoch: s.epoch, loss: Number(s.loss.toFixed(4)), tokens: s.tokens });
          o.onProgress?.({ phase: 'training', step: s.step, totalSteps: s.totalSteps, epoch: s.epoch, loss: s.loss });
        },
        onEvalProgress: (e) => {
          released();
          if (e.done === 1 || e.done === e.total) o.onProgress?.({ phase: 'evaluating', done: e.done, total: e.total });
        },
      });
      log.success(`evaluated ${what}${r.reusedAdapter ? ' with its cached adapter' : ''}: eval loss ${r.evalLoss.toFixed(5)}`, { seconds: Number(r.seconds.toFixed(2)) });
      return {
        losses: r.losses, evalLoss: r.evalLoss, receipt: r.receipt,
        seconds: r.seconds, trainSeconds: r.trainSeconds, evalSeconds: r.evalSeconds, worker: this.options.worker,
      };
    } catch (err) {
      if (err instanceof DatasetEvaluationError) throw new EvaluationJobError('dataset', err.message, { cause: err });
      throw err;
    }
  }

  /**
   * The competition revision, loaded once and shared by the jobs that need it. Only the owner's
   * files being wrong fails the job for good: the producer loaded this revision itself, so any
   * other failure here is this worker's (its hub, its token, its disk) and is retried.
   */
  private competition(pointer: CompetitionPointer): Promise<LoadedCompetition> {
    const key = `${pointer.repoId}@${pointer.revision}#${pointer.competitionId}`;
    let loading = this.loaded.get(key);
    if (!loading) {
      const attempt: Promise<LoadedCompetition> = loadCompetition(this.options.hub, pointer, this.options.log).catch((err: unknown) => {
        if (this.loaded.get(key) === attempt) this.loaded.delete(key); // the next job tries again
        if (err instanceof CompetitionError) throw new EvaluationJobError('competition', err.message, { cause: err });
        if (err instanceof UnauthorizedError) {
          throw new FlockError(`loading the competition: ${errorMessage(err)}`, { hint: 'give this worker a Hugging Face token that can read the base model (HF_TOKEN)', cause: err });
        }
        throw err;
      });
      loading = attempt;
      this.loaded.set(key, loading);
      const keep = Math.max(1, this.options.competitions ?? 2);
      for (const old of this.loaded.keys()) {
        if (this.loaded.size <= keep) break;
        this.loaded.delete(old); // the oldest first; jobs still running keep their copy
      }
    }
    return loading;
  }
}

/**
 * A failed download of a job's dataset: the dataset's fault (gone, too large, refused — as the
 * validator reads the same faults at intake), content not matching the commit, or a fault of the
 * hub or of this worker's access (transient, rethrown as is).
 */
function datasetDownloadFault(err: unknown, at: string, path: string): unknown {
  if (err instanceof IntegrityError) return new EvaluationJobError('integrity', err.message, { cause: err });
  if (isTransientHubError(err) || err instanceof UnauthorizedError || !(err instanceof HubError)) return err;
  return new EvaluationJobError('dataset', `${path} at ${at} cannot be downloaded: ${err.message}`, { cause: err });
}
