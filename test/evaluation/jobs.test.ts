/**
 * Evaluation jobs on the wire (pure): the id follows what makes a result and nothing else, payloads
 * and results read back from the queue are checked, non-finite losses survive JSON, and a failed
 * job's reason carries its kind.
 */
import { describe, expect, it } from 'vitest';
import {
  BASE_IDENTITY, decodeJobResult, encodeJobResult, evaluationJobId, formatFailureReason, jobIdentity, parseEvaluationJob, parseFailureReason,
  type EvaluationJob, type EvaluationJobResult,
} from '../../src/evaluation/jobs.js';
import { renderQueueMetrics } from '../../src/evaluation/queue-metrics.js';

const COMPUTE = 'flock-engine 2.0.0 · cpu · attention=wasm-simd matmul=wasm-simd';
const job: EvaluationJob = {
  competition: { competitionId: '1', repoId: 'flock/competition-1', revision: 'a'.repeat(40) },
  dataset: { repoId: 'miners/alice', revision: 'b'.repeat(40), path: 'data.jsonl', identity: 'c'.repeat(64) },
  compute: COMPUTE,
};

function result(over: Partial<EvaluationJobResult> = {}): EvaluationJobResult {
  return {
    losses: [1.25, 0.1 + 0.2], evalLoss: 0.775,
    receipt: {
      engine: 'flock-engine', engineVersion: '2.0.0', backend: 'cpu', kernels: { matmul: 'wasm-simd' }, device: null, compute: COMPUTE,
      modelHash: 'm', datasetHash: 'c'.repeat(64), evalSetHash: 'e', recipeHash: 'r', seed: 7, adapterHash: null, droppedContaminatedRows: 0,
    },
    seconds: 1.5, trainSeconds: 1, evalSeconds: 0.5, worker: 'gpu-0', ...over,
  };
}

describe('evaluation jobs', () => {
  it('the id hashes the dataset identity, the competition id and revision, and the compute identity — not where the data lives', () => {
    const id = evaluationJobId(job);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(evaluationJobId({ ...job, dataset: { ...job.dataset!, repoId: 'miners/copycat', revision: 'd'.repeat(40) } })).toBe(id);
    expect(evaluationJobId({ ...job, dataset: { ...job.dataset!, identity: 'd'.repeat(64) } })).not.toBe(id);
    expect(evaluationJobId({ ...job, competition: { ...job.competition, revision: 'd'.repeat(40) } })).not.toBe(id);
    expect(evaluationJobId({ ...job, competition: { ...job.competition, competitionId: '2' } })).not.toBe(id);
    expect(evaluationJobId({ ...job, compute: `${COMPUTE} · NVIDIA` })).not.toBe(id);
    const base = { ...job, dataset: null };
    expect(jobIdentity(base)).toBe(BASE_IDENTITY);
    expect(evaluationJobId(base)).not.toBe(id);
  });

  it('payloads read back from the queue are checked', () => {
    expect(parseEvaluationJob(JSON.parse(JSON.stringify(job)))).toEqual({ ok: true, job });
    expect(parseEvaluationJob({ ...job, dataset: null })).toEqual({ ok: true, job: { ...job, dataset: null } });
    expect(parseEvaluationJob({ ...job, competition: { ...job.competition, revision: 'main' } }))
      .toEqual({ ok: false, reason: 'the job payload is malformed: competition.revision must be a 40-hex commit' });
    expect(parseEvaluationJob({ ...job, dataset: { ...job.dataset!, identity: 'x' } }))
      .toEqual({ ok: false, reason: 'the job payload is malformed: dataset.identity must be a 64-hex dataset identity' });
    expect(parseEvaluationJob('nope')).toMatchObject({ ok: false });
  });

  it('results survive JSON bit for bit, NaN and infinities included, and must answer the job', () => {
    const r = result({ losses: [0.1 + 0.2, Number.NaN, Infinity, -Infinity, 5e-324], evalLoss: Number.NaN });
    const back = decodeJobResult(job, JSON.parse(JSON.stringify(encodeJobResult(r))));
    expect(back).toEqual({ status: 'done', result: r });
    if (back.status !== 'done') throw new Error('unreachable');
    expect(Object.is(back.result.losses[0], 0.1 + 0.2)).toBe(true);
    expect(back.result.losses[1]).toBeNaN();

    expect(decodeJobResult(job, encodeJobResult(result({ receipt: { ...result().receipt, compute: 'other' } }))))
      .toEqual({ status: 'failed', failure: { kind: 'refused', reason: `the result was computed by "other", the job asked for "${COMPUTE}"` } });
    expect(decodeJobResult({ ...job, dataset: null }, encodeJobResult(result())))
      .toEqual({ status: 'failed', failure: { kind: 'refused', reason: `the result's receipt names dataset ${'c'.repeat(64)}, the job none` } });
    expect(decodeJobResult(job, { format: 1, losses: [null] })).toMatchObject({ status: 'failed', failure: { kind: 'refused', reason: expect.stringContaining("the job's result is malformed: losses.0") } });
  });

  it('a failure reason carries its kind; anything else is a transient fault', () => {
    const text = formatFailureReason('dataset', 'no row is left to train on');
    expect(text).toBe('[flock:dataset] no row is left to train on');
    expect(parseFailureReason(text)).toEqual({ kind: 'dataset', reason: 'no row is left to train on' });
    expect(parseFailureReason(formatFailureReason('refused', 'x'))).toEqual({ kind: 'refused', reason: 'x' });
    expect(parseFailureReason('job stalled more than allowable limit')).toEqual({ kind: 'transient', reason: 'job stalled more than allowable limit' });
    expect(parseFailureReason('[flock:bogus] x')).toEqual({ kind: 'transient', reason: '[flock:bogus] x' });
    expect(parseFailureReason(undefined)).toEqual({ kind: 'transient', reason: 'the job failed without a reason' });
  });

  it('queue metrics render as Prometheus text with label values escaped', () => {
    const text = renderQueueMetrics({
      queues: [{ compute: 'gpu "A"\\x', queue: 'flock-eval-1', workers: 2, counts: { waiting: 3, active: 2, delayed: 0, prioritized: 1, completed: 9, failed: 1 } }],
      inFlight: [{ worker: 'host-1', jobs: 2 }],
      jobSeconds: { sum: 12.5, count: 9 },
    });
    expect(text).toContain('# TYPE flock_evaluation_queue_jobs gauge\n');
    expect(text).toContain('flock_evaluation_queue_jobs{compute="gpu \\"A\\"\\\\x",state="waiting"} 3\n');
    expect(text).toContain('flock_evaluation_queue_workers{compute="gpu \\"A\\"\\\\x"} 2\n');
    expect(text).toContain('flock_evaluation_jobs_in_flight{worker="host-1"} 2\n');
    expect(text).toContain('flock_evaluation_job_seconds_sum 12.5\nflock_evaluation_job_seconds_count 9\n');
    expect(text.match(/^flock_evaluation_queue_jobs\{/gm)).toHaveLength(6);
  });
});
