/**
 * Evaluation jobs through BullMQ on a real redis-server: the producer (`EvaluationQueue`) and
 * workers (`startEvaluationWorker`, and `flock worker` in a child process) against a local hub.
 * Results equal the in-process evaluation; the same job twice is one job; a worker killed mid-job
 * is replaced by another and the job has one result; a dataset that cannot be evaluated fails at
 * once with its reason; a Redis restart (all data lost) is survived by both sides; a job of
 * another compute identity never runs.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.js';
import { computeIdentity } from '../../src/engine/run.js';
import { loadCompetition, type LoadedCompetition } from '../../src/evaluation/competition.js';
import { evaluateDataset } from '../../src/evaluation/evaluate.js';
import { evaluationJobId, parseFailureReason, type EvaluationJob, type EvaluationJobOutcome } from '../../src/evaluation/jobs.js';
import { renderQueueMetrics } from '../../src/evaluation/queue-metrics.js';
import { EvaluationQueue, evaluationQueueName, startEvaluationWorker, type EvaluationWorker } from '../../src/evaluation/queue.js';
import type { JobProgress } from '../../src/evaluation/run-job.js';
import { createLogger, silentLogger } from '../../src/util/log.js';
import { ValidatorMetrics } from '../../src/validator/metrics.js';
import { taskRows } from '../validator/subnet.js';
import { spawnWorker, startQueueFixture, waitUntil, type QueueFixture } from './queue-fixture.js';

const backend = new CpuBackend({ threads: 1 });
const compute = computeIdentity(backend).key;
let f: QueueFixture;
let queue: EvaluationQueue;
let reference: LoadedCompetition;
const workers: EvaluationWorker[] = [];
const logLines: string[] = [];
const log = createLogger({ level: 'info', stream: { write: (line: string) => logLines.push(line) } });

/** An in-process worker with short lock and stalled intervals; closed after each test. */
async function startWorker(name: string, onProgress?: (jobId: string, p: JobProgress) => void): Promise<EvaluationWorker> {
  const w = await startEvaluationWorker({
    url: f.redis.url, backend, hub: f.hubClient(name), log: log.child({ w: name }), workerName: name,
    lockMs: 2000, stalledIntervalMs: 500, progressEvery: 1, onProgress,
  });
  workers.push(w);
  return w;
}

function done(o: EvaluationJobOutcome) {
  if (o.status !== 'done') throw new Error(`expected a result, got ${JSON.stringify(o)}`);
  return o.result;
}

beforeAll(async () => {
  f = await startQueueFixture();
  queue = await EvaluationQueue.connect({ url: f.redis.url, log, pollMs: 250, backoffMs: 100 });
  reference = await loadCompetition(f.hubClient('reference'), f.pointer, silentLogger);
});
afterEach(async () => {
  for (const w of workers.splice(0)) await w.close();
});
afterAll(async () => {
  await queue?.close();
  await f?.close();
  backend.dispose();
});

describe('evaluation queue', () => {
  it('runs jobs end to end: results with receipts, losses equal to evaluating in-process, progress reported', async () => {
    const base: EvaluationJob = { competition: f.pointer, dataset: null, compute };
    const { job: good, file } = await f.datasetJob('good', taskRows(16, 5), compute);
    expect(await queue.enqueue(base)).toBe(evaluationJobId(base));
    await queue.enqueue(good);
    expect(await queue.counts(compute)).toMatchObject({ waiting: 2, active: 0, completed: 0 });

    const progress: JobProgress[] = [];
    const w = await startWorker('w-end-to-end', (id, p) => { if (id === evaluationJobId(good)) progress.push(p); });
    expect(w.compute.key).toBe(compute);
    expect(w.queue).toBe(evaluationQueueName(compute));
    const [b, g] = (await Promise.all([queue.waitForResult(base), queue.waitForResult(good)])).map(done);

    const localBase = await evaluateDataset({ competition: reference, backend, datasetPath: null, identity: null });
    const localGood = await evaluateDataset({ competition: reference, backend, datasetPath: file, identity: good.dataset!.identity });
    expect(b!.losses).toEqual(localBase.losses);
    expect(g!.losses).toEqual(localGood.losses);
    expect(g!.evalLoss).toBe(localGood.evalLoss);
    expect(g!.receipt).toEqual(localGood.receipt);
    expect(g!.receipt).toMatchObject({ compute, datasetHash: good.dataset!.identity, seed: reference.seed });
    expect(b!.receipt.datasetHash).toBeNull();
    expect(g!.worker).toBe('w-end-to-end');
    expect(g!.seconds).toBeGreaterThan(0);

    // progress: loading, every optimizer step (progressEvery 1), evaluation
    expect(progress[0]).toEqual({ phase: 'loading' });
    const steps = progress.flatMap((p) => (p.phase === 'training' ? [p.step] : []));
    expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8]); // 16 rows, 2 per step
    expect(progress.at(-1)).toMatchObject({ phase: 'evaluating', done: 12, total: 12 });
    expect(logLines.some((l) => /\| INFO \| training 8\/8 .*job=/.test(l))).toBe(true);
    expect(w.stats()).toEqual({ active: 0, completed: 2, failed: 0 });

    // what /metrics shows
    const m = await queue.metrics();
    expect(m.queues).toEqual([{ compute, queue: w.queue, workers: 1, counts: expect.objectContaining({ completed: 2, active: 0 }) }]);
    expect(m.jobSeconds.count).toBe(2);
    const validatorMetrics = new ValidatorMetrics();
    validatorMetrics.queue = m;
    const text = validatorMetrics.render();
    expect(text).toContain(`flock_evaluation_queue_jobs{compute="${compute}",state="completed"} 2\n`);
    expect(text).toContain(`flock_evaluation_queue_workers{compute="${compute}"} 1\n`);
    expect(text).toMatch(/^flock_evaluation_job_seconds_count 2$/m);
    expect(text).toContain(renderQueueMetrics(m));
    expect(await queue.computes()).toEqual([{ compute, queue: w.queue, workers: 1 }]);
  });

  it('the same job enqueued twice is one job with one result; enqueuing it again later reuses the result', async () => {
    const { job } = await f.datasetJob('twice', taskRows(10, 6), compute);
    const before = await queue.counts(compute);
    const ids = await Promise.all([queue.enqueue(job), queue.enqueue(job), queue.enqueue({ ...job })]);
    expect(new Set(ids).size).toBe(1);
    expect((await queue.counts(compute)).waiting).toBe(before.waiting + 1);

    const w = await startWorker('w-twice');
    const first = done(await queue.waitForResult(job));
    await queue.enqueue(job);
    const again = done(await queue.waitForResult(job));
    expect(again).toEqual(first);
    expect(w.stats().completed).toBe(1);
    expect((await queue.counts(compute)).completed).toBe(before.completed + 1);
  });

  it('a dataset that cannot be evaluated fails at once with its reason, without retries', async () => {
    const { job: poisoned } = await f.datasetJob('all-eval', taskRows(12, 1), compute); // every row is an evaluation example
    const { job: other } = await f.datasetJob('other', taskRows(8, 7), compute);
    const mislabelled: EvaluationJob = { ...other, dataset: { ...other.dataset!, identity: 'e'.repeat(64) } };
    await queue.enqueue(poisoned);
    await queue.enqueue(mislabelled);
    const w = await startWorker('w-poison');
    const p = await queue.waitForResult(poisoned);
    expect(p).toEqual({ status: 'failed', failure: { kind: 'dataset', reason: 'no row is left to train on after dropping the rows that match evaluation examples' } });
    const m = await queue.waitForResult(mislabelled);
    expect(m).toMatchObject({ status: 'failed', failure: { kind: 'integrity', reason: expect.stringContaining(`the job names ${'e'.repeat(64)}`) } });
    expect(w.stats()).toEqual({ active: 0, completed: 0, failed: 2 }); // one attempt each (3 allowed)
  });

  it('a job of another compute identity never runs: it waits in its own queue, and a worker refuses one put in its queue', async () => {
    const other = 'flock-engine 0.0.0 · cpu · attention=other matmul=other';
    const { job: foreign } = await f.datasetJob('foreign', taskRows(8, 8), other);
    await queue.enqueue(foreign);
    const seen: string[] = [];
    const w = await startWorker('w-compute', (id) => seen.push(id));

    // the safety net: a job naming another identity, put straight into this worker's queue
    const raw = new Queue(w.queue, { connection: new Redis(f.redis.url, { maxRetriesPerRequest: null }) });
    try {
      const misrouted = await raw.add('evaluate', foreign, { jobId: 'misrouted-job', attempts: 3 });
      await waitUntil('the misrouted job to fail', async () => (await misrouted.isFailed()));
      const failed = (await raw.getJob('misrouted-job'))!;
      expect(failed.attemptsMade).toBe(1);
      expect(parseFailureReason(failed.failedReason)).toEqual({
        kind: 'refused', reason: `the job asks for compute "${other}" but this worker computes "${compute}"`,
      });
    } finally {
      await raw.close();
      (raw.opts.connection as Redis).disconnect();
    }
    expect(await queue.status(foreign)).toMatchObject({ status: 'pending', state: 'waiting' });
    expect(seen).toEqual([]);
    expect(w.stats()).toEqual({ active: 0, completed: 0, failed: 1 });
  });

  it('kill -9 of a worker process mid-training: another worker finishes the job, which has exactly one result', async () => {
    const { job } = await f.datasetJob('long', taskRows(200, 21), compute); // 100 optimizer steps
    await queue.enqueue(job);
    const doomed = spawnWorker(f, 'doomed', ['--lock-ms', '1500', '--stalled-interval-ms', '500', '--progress-every', '1']);
    await waitUntil('the worker process to be training', async () => {
      const s = await queue.status(job);
      return s.status === 'pending' && s.state === 'active' && (s.progress as JobProgress | undefined)?.phase === 'training';
    }, doomed.output);
    expect(doomed.output()).toContain(`worker doomed: compute ${compute}`);
    expect((await queue.metrics()).inFlight).toEqual([{ worker: 'doomed', jobs: 1 }]);
    process.kill(doomed.pid, 'SIGKILL');
    expect((await doomed.done).signal).toBe('SIGKILL');
    expect(await queue.status(job)).toMatchObject({ status: 'pending', state: 'active' }); // until its lock expires

    const rescuer = await startWorker('rescuer');
    const result = done(await queue.waitForResult(job));
    expect(result.worker).toBe('rescuer');
    expect(rescuer.stats()).toEqual({ active: 0, completed: 1, failed: 0 });
    expect(logLines.some((l) => l.includes(`job ${evaluationJobId(job).slice(0, 12)} lost its worker`))).toBe(true);
  });

  it('survives a Redis restart that loses every job: the worker reconnects, the producer enqueues again, the work completes once', async () => {
    const { job: a } = await f.datasetJob('restart-a', taskRows(200, 31), compute);
    const { job: b } = await f.datasetJob('restart-b', taskRows(20, 32), compute);
    const started = new Set<string>();
    const w = await startWorker('w-restart', (id, p) => { if (p.phase === 'training') started.add(id); });
    await queue.enqueue(a);
    await queue.enqueue(b);
    const results = Promise.all([queue.waitForResult(a), queue.waitForResult(b)]);
    await waitUntil('the first job to be training', () => started.has(evaluationJobId(a)));

    await f.redis.kill();
    try {
      await expect(queue.counts(compute)).rejects.toThrow(/is unreachable/); // the producer fails fast
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      await f.redis.start();
    }

    const [ra, rb] = (await results).map(done);
    expect(ra!.worker).toBe('w-restart');
    expect(rb!.worker).toBe('w-restart');
    expect(await queue.counts(compute)).toMatchObject({ completed: 2, waiting: 0, active: 0, failed: 0 });
    expect(logLines.some((l) => l.includes('was no longer in Redis'))).toBe(true);
    expect(logLines.some((l) => /worker w-restart: Redis unreachable \(connect ECONNREFUSED/.test(l))).toBe(true);
    expect(logLines.some((l) => /worker w-restart: connected to Redis again/.test(l))).toBe(true);
    // the worker announces its identity again on the empty Redis
    await waitUntil('the worker to announce its identity again', async () => (await queue.computes()).length === 1);
    expect(w.stats().active).toBe(0);
  });
});
