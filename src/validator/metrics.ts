/**
 * Prometheus metrics of the validator on `GET /metrics`, in the plain-text exposition format
 * (version 0.0.4) written by hand: evaluations done/failed, queue length, seconds per evaluation,
 * last weight block; and the evaluation queue on Redis when evaluations go through one (`queue`).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EvaluationJobTiming } from '../evaluation/jobs.js';
import { renderQueueMetrics, type EvaluationQueueMetrics } from '../evaluation/queue-metrics.js';

/** The validator's counters and gauges. */
export class ValidatorMetrics {
  evaluationsDone = 0;
  evaluationsFailed = 0;
  queueLength = 0;
  /** Sum and count of evaluation wall times (a summary without quantiles). */
  evaluationSecondsSum = 0;
  evaluationSecondsCount = 0;
  lastWeightBlock: number | null = null;
  roundsScored = 0;
  weightSetFailures = 0;
  currentBlock: number | null = null;
  /** Wall time of the last dataset intake (download, validate, fingerprint). */
  lastIntakeSeconds = 0;
  /** The evaluation queue's last snapshot (`EvaluationQueue.metrics()`), when evaluations go through one. */
  queue: EvaluationQueueMetrics | null = null;

  /**
   * Evaluation jobs through the queue: seconds from enqueue to a worker taking the job, and from
   * the worker finishing it to the validator recording it (sum and count each). Across machines
   * they include the difference of their clocks.
   */
  readonly jobQueueSeconds = { sum: 0, count: 0 };
  readonly jobRecordSeconds = { sum: 0, count: 0 };

  observeEvaluation(seconds: number): void {
    this.evaluationSecondsSum += seconds;
    this.evaluationSecondsCount += 1;
  }

  /** Add one queued job's timing (`recordedAt`: when its result was stored, ms since the epoch). */
  observeJobTiming(t: EvaluationJobTiming, recordedAt: number): void {
    if (t.startedAt !== null) {
      this.jobQueueSeconds.sum += Math.max(0, t.startedAt - t.queuedAt) / 1000;
      this.jobQueueSeconds.count++;
    }
    if (t.finishedAt !== null) {
      this.jobRecordSeconds.sum += Math.max(0, recordedAt - t.finishedAt) / 1000;
      this.jobRecordSeconds.count++;
    }
  }

  /** The exposition text. */
  render(): string {
    const lines: string[] = [];
    const metric = (name: string, type: 'counter' | 'gauge' | 'summary', help: string, samples: Array<[string, number]>) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [suffix, v] of samples) lines.push(`${name}${suffix} ${formatValue(v)}`);
    };
    metric('flock_validator_evaluations_done_total', 'counter', 'Evaluations finished and stored.', [['', this.evaluationsDone]]);
    metric('flock_validator_evaluations_failed_total', 'counter', 'Evaluations that failed (the dataset scores 0, or a retry follows).', [['', this.evaluationsFailed]]);
    metric('flock_validator_queue_length', 'gauge', 'Datasets waiting to be trained and evaluated.', [['', this.queueLength]]);
    metric('flock_validator_evaluation_seconds', 'summary', 'Wall time of one evaluation (training included).', [
      ['_sum', this.evaluationSecondsSum], ['_count', this.evaluationSecondsCount],
    ]);
    metric('flock_validator_last_weight_block', 'gauge', 'Block of the last weight transaction included on chain (-1: none yet).', [['', this.lastWeightBlock ?? -1]]);
    metric('flock_validator_rounds_total', 'counter', 'Scoring rounds recorded.', [['', this.roundsScored]]);
    metric('flock_validator_weight_set_failures_total', 'counter', 'Weight transactions that failed.', [['', this.weightSetFailures]]);
    metric('flock_validator_intake_seconds', 'gauge', 'Wall time of the last dataset intake (download, validate, fingerprint, copy index).', [['', this.lastIntakeSeconds]]);
    metric('flock_validator_current_block', 'gauge', 'Chain block seen last (-1: none yet).', [['', this.currentBlock ?? -1]]);
    if (this.queue) {
      metric('flock_validator_job_queue_seconds', 'summary', 'Seconds from enqueuing an evaluation job to a worker taking it.', [
        ['_sum', this.jobQueueSeconds.sum], ['_count', this.jobQueueSeconds.count],
      ]);
      metric('flock_validator_job_record_seconds', 'summary', 'Seconds from a worker finishing an evaluation job to the validator storing its result.', [
        ['_sum', this.jobRecordSeconds.sum], ['_count', this.jobRecordSeconds.count],
      ]);
    }
    return `${lines.join('\n')}\n${this.queue ? renderQueueMetrics(this.queue) : ''}`;
  }
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export interface MetricsServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

/**
 * Serve `metrics` on `http://host:port/metrics` (port 0: any free port).
 *
 * @example
 * const server = await startMetricsServer(metrics, 9100);
 * // curl http://127.0.0.1:9100/metrics
 */
export async function startMetricsServer(metrics: ValidatorMetrics, port: number, host = '127.0.0.1'): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; metrics are on /metrics\n');
      return;
    }
    const body = metrics.render();
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => ok());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    port: actual,
    url: `http://${host}:${actual}/metrics`,
    close: () => new Promise<void>((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    }),
  };
}
