/**
 * Evaluations run by workers through the evaluation queue (`flock validator run --queue`): the
 * validator enqueues the evaluations it claims from its store as jobs, keeps up to `depth` of them
 * in flight, and takes their outcomes one at a time as they settle. The validator alone writes its
 * state: workers only return results, and a job's id is derived from what makes its result, so a
 * job enqueued again after a restart answers with the result it already has.
 */
import { setMaxListeners } from 'node:events';
import type { EvaluationJob, EvaluationJobOutcome } from '../evaluation/jobs.js';
import { evaluationJobId } from '../evaluation/jobs.js';
import type { ComputeQueue, EvaluationQueue } from '../evaluation/queue.js';
import type { Logger } from '../util/log.js';

/** Jobs in flight at most, by default: enough to keep a few dozen GPUs busy. */
export const DEFAULT_QUEUE_DEPTH = 32;

/** A claimed evaluation sent to the queue. */
export interface RemoteEvaluation {
  /** The store's competition key and dataset identity it is recorded under. */
  competitionKey: string;
  datasetIdentity: string;
  /** Who it is for, in log lines (`uid 3`, `base model`). */
  who: string;
  job: EvaluationJob;
}

/** An evaluation whose job has settled. */
export interface SettledEvaluation {
  evaluation: RemoteEvaluation;
  outcome: EvaluationJobOutcome;
}

/**
 * The compute identity the validator's evaluations go to: the current one while a worker serves
 * it, else the one most workers serve now; the current one (or, at first, any announced one)
 * when no worker is connected. Null when no worker ever announced one.
 */
export function chooseCompute(current: string | null, computes: readonly ComputeQueue[]): string | null {
  const served = computes.filter((c) => c.workers > 0);
  if (current !== null && served.some((c) => c.compute === current)) return current;
  const busiest = [...served].sort((a, b) => b.workers - a.workers || a.compute.localeCompare(b.compute))[0];
  if (busiest) return busiest.compute;
  return current ?? computes[0]?.compute ?? null;
}

export class RemoteEvaluations {
  private readonly inFlight = new Map<string, { evaluation: RemoteEvaluation; settled: Promise<SettledEvaluation> }>();
  private readonly abort = new AbortController();
  /** The compute identity jobs are enqueued for (set by `refreshCompute`). */
  compute: string | null = null;

  constructor(
    readonly queue: EvaluationQueue,
    private readonly log: Logger,
    readonly depth = DEFAULT_QUEUE_DEPTH,
  ) {
    setMaxListeners(0, this.abort.signal); // every job in flight waits on it
  }

  /** Jobs in flight now. */
  get size(): number {
    return this.inFlight.size;
  }

  /** True when `depth` jobs are in flight. */
  get full(): boolean {
    return this.inFlight.size >= this.depth;
  }

  /**
   * Look at the compute identities workers serve and choose the one to enqueue for
   * (`chooseCompute`); logs a change. Throws `QueueUnavailableError` while Redis is away.
   */
  async refreshCompute(): Promise<string | null> {
    const computes = await this.queue.computes();
    const chosen = chooseCompute(this.compute, computes);
    if (chosen !== this.compute && chosen !== null) {
      const workers = computes.find((c) => c.compute === chosen)?.workers ?? 0;
      if (this.compute === null) this.log.info(`evaluations go to workers of compute identity "${chosen}"`, { workers });
      else this.log.warning(`no worker serves "${this.compute}" any more: evaluations go to "${chosen}" (results of the other identity are redone)`, { workers });
    }
    this.compute = chosen;
    return chosen;
  }

  /**
   * Enqueue the job of a claimed evaluation (`retry`: put a failed job back with all its
   * attempts — a job settled as failed stays failed otherwise). Its outcome comes out of `next`.
   * Throws `QueueUnavailableError` while Redis is away; nothing is in flight then.
   */
  async submit(evaluation: RemoteEvaluation, options: { retry?: boolean } = {}): Promise<void> {
    const id = evaluationJobId(evaluation.job);
    if (this.inFlight.has(id)) return;
    if (options.retry) await this.queue.retry(evaluation.job);
    else await this.queue.enqueue(evaluation.job);
    const settled = this.queue.waitForResult(evaluation.job, { signal: this.abort.signal }).then((outcome) => ({ evaluation, outcome }));
    settled.catch(() => undefined); // rejects only on close
    this.inFlight.set(id, { evaluation, settled });
  }

  /**
   * The next job to settle, taken out of the in-flight set; null when `wake` settles first or
   * nothing is in flight.
   */
  async next(wake: Promise<unknown>): Promise<SettledEvaluation | null> {
    if (this.inFlight.size === 0) return null;
    const first = await Promise.race([...[...this.inFlight.values()].map((f) => f.settled), wake.then(() => null)]);
    if (first) this.inFlight.delete(evaluationJobId(first.evaluation.job));
    return first;
  }

  /**
   * Stop waiting for the jobs in flight (they go on in the queue; the store has them as running,
   * so the next start enqueues them again and picks up their results).
   */
  close(): void {
    this.abort.abort();
    this.inFlight.clear();
  }
}
