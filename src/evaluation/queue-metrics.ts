/**
 * What a `/metrics` endpoint shows of the evaluation queue (`EvaluationQueue.metrics()` in
 * queue.ts collects it), and its Prometheus text (exposition format 0.0.4). Pure: no I/O.
 */

/** Jobs of one queue by state, as BullMQ counts them. */
export interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  prioritized: number;
  completed: number;
  failed: number;
}

export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'] as const satisfies readonly (keyof QueueCounts)[];

export interface EvaluationQueueMetrics {
  /** One entry per compute identity's queue. */
  queues: { compute: string; queue: string; workers: number; counts: QueueCounts }[];
  /** Jobs running now, by worker name. */
  inFlight: { worker: string; jobs: number }[];
  /** Engine seconds of the results this producer has received (a summary without quantiles). */
  jobSeconds: { sum: number; count: number };
}

function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/**
 * The metrics as Prometheus text: `flock_evaluation_queue_jobs{compute,state}`,
 * `flock_evaluation_queue_workers{compute}`, `flock_evaluation_jobs_in_flight{worker}` and the
 * `flock_evaluation_job_seconds` summary.
 *
 * @example
 * renderQueueMetrics(await queue.metrics()); // '# HELP flock_evaluation_queue_jobs …'
 */
export function renderQueueMetrics(m: EvaluationQueueMetrics): string {
  const lines: string[] = [];
  const head = (name: string, type: 'gauge' | 'summary', help: string) => lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  head('flock_evaluation_queue_jobs', 'gauge', 'Evaluation jobs in the queue by state, per compute identity.');
  for (const q of m.queues) {
    for (const state of QUEUE_STATES) lines.push(`flock_evaluation_queue_jobs{compute="${label(q.compute)}",state="${state}"} ${q.counts[state]}`);
  }
  head('flock_evaluation_queue_workers', 'gauge', 'Workers connected to the queue of each compute identity.');
  for (const q of m.queues) lines.push(`flock_evaluation_queue_workers{compute="${label(q.compute)}"} ${q.workers}`);
  head('flock_evaluation_jobs_in_flight', 'gauge', 'Evaluation jobs running now, by worker.');
  for (const w of m.inFlight) lines.push(`flock_evaluation_jobs_in_flight{worker="${label(w.worker)}"} ${w.jobs}`);
  head('flock_evaluation_job_seconds', 'summary', 'Engine seconds of one evaluation job (training included), over the results received.');
  lines.push(`flock_evaluation_job_seconds_sum ${m.jobSeconds.sum}`, `flock_evaluation_job_seconds_count ${m.jobSeconds.count}`);
  return `${lines.join('\n')}\n`;
}
