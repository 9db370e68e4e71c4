/**
 * `flock worker` as an operator runs it (the built CLI in a child process) against a real
 * redis-server and a local hub: it logs its compute identity and progress, Ctrl-C lets the job in
 * progress finish, SIGTERM gives it back to the queue for another worker, a worker started
 * before Redis waits for it and still stops on Ctrl-C, and bad flags are usage errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.js';
import { computeIdentity } from '../../src/engine/run.js';
import type { EvaluationJobOutcome } from '../../src/evaluation/jobs.js';
import { EvaluationQueue } from '../../src/evaluation/queue.js';
import type { JobProgress } from '../../src/evaluation/run-job.js';
import { runFlock } from '../helpers/cli.js';
import { spawnWorker, startQueueFixture, waitUntil, type QueueFixture, type WorkerProcess } from '../evaluation/queue-fixture.js';
import { taskRows } from '../validator/subnet.js';

const backend = new CpuBackend({ threads: 1 });
const compute = computeIdentity(backend).key;
let f: QueueFixture;
let queue: EvaluationQueue;

beforeAll(async () => {
  f = await startQueueFixture();
  queue = await EvaluationQueue.connect({ url: f.redis.url, pollMs: 250 });
});
afterAll(async () => {
  await queue?.close();
  await f?.close();
  backend.dispose();
});

function workerOf(o: EvaluationJobOutcome): string {
  if (o.status !== 'done') throw new Error(`expected a result, got ${JSON.stringify(o)}`);
  return o.result.worker;
}

/** Wait until `job` runs on a worker and has passed optimizer step `step`. */
async function training(job: Parameters<EvaluationQueue['status']>[0], w: WorkerProcess, step = 2): Promise<void> {
  await waitUntil('the job to be training', async () => {
    const s = await queue.status(job);
    const p = s.status === 'pending' ? (s.progress as JobProgress | undefined) : undefined;
    return s.status === 'pending' && s.state === 'active' && p?.phase === 'training' && p.step >= step;
  }, w.output);
}

describe('flock worker (CLI)', () => {
  it('logs its compute identity and progress, runs jobs, and on Ctrl-C finishes the job in progress and exits 0', async () => {
    const { job: quick } = await f.datasetJob('cli-quick', taskRows(8, 41), compute);
    const { job: long } = await f.datasetJob('cli-long', taskRows(160, 42), compute); // 80 optimizer steps
    await queue.enqueue(quick);
    const w = spawnWorker(f, 'cli-a', ['--progress-every', '2']);
    expect(workerOf(await queue.waitForResult(quick))).toBe('cli-a');
    await queue.enqueue(long);
    await training(long, w);
    process.kill(w.pid, 'SIGINT');
    const exit = await w.done;
    expect(exit.code).toBe(0);
    expect(workerOf(await queue.status(long) as EvaluationJobOutcome)).toBe('cli-a'); // finished before stopping
    expect(exit.output).toMatch(new RegExp(`\\| INFO \\| worker cli-a: compute ${compute.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} queue=flock-eval-[0-9a-f]{16}`));
    expect(exit.output).toMatch(/\| INFO \| training 80\/80 job=[0-9a-f]{12} epoch=0 loss=[\d.]+ tokens=\d+/);
    expect(exit.output).not.toMatch(/training 79\/80/); // every 2 steps
    expect(exit.output).toContain('SIGINT: stopping after the job in progress');
    expect(exit.output).toMatch(/worker cli-a stopped completed=2 failed=0/);
  });

  it('on SIGTERM gives the job in progress back to the queue at once; another worker finishes it', async () => {
    const { job } = await f.datasetJob('cli-released', taskRows(200, 43), compute); // 100 optimizer steps
    await queue.enqueue(job);
    const first = spawnWorker(f, 'cli-b');
    await training(job, first, 1);
    process.kill(first.pid, 'SIGTERM');
    const exit = await first.done;
    expect(exit.code).toBe(0);
    expect(exit.output).toContain('SIGTERM: giving the job in progress back to the queue');
    expect(exit.output).toMatch(/job [0-9a-f]{12} released: back in the queue for another worker/);
    expect(await queue.status(job)).toMatchObject({ status: 'pending', state: 'waiting', attemptsMade: 0 });

    const second = spawnWorker(f, 'cli-c');
    try {
      expect(workerOf(await queue.waitForResult(job))).toBe('cli-c');
    } finally {
      process.kill(second.pid, 'SIGINT');
    }
    expect((await second.done).code).toBe(0);
  });

  it('waits for a Redis that is not there yet, and still stops on Ctrl-C', async () => {
    const w = spawnWorker({ ...f, redis: { ...f.redis, url: 'redis://127.0.0.1:1' } }, 'cli-early');
    await waitUntil('the worker to wait for Redis', () => /Redis unreachable \(connect ECONNREFUSED 127\.0\.0\.1:1\); retrying/.test(w.output()), w.output, 30_000);
    process.kill(w.pid, 'SIGINT');
    const exit = await w.done;
    expect(exit.code).toBe(0);
    expect(exit.output).toMatch(/worker cli-early stopped completed=0 failed=0/);
  });

  it('usage errors exit 2; a URL that is not Redis exits 1 with a hint', () => {
    const missing = runFlock(['worker']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '--queue <url>' not specified");
    const threads = runFlock(['worker', '--queue', f.redis.url, '--concurrency', '0']);
    expect(threads.code).toBe(2);
    expect(threads.stderr).toContain('--concurrency must be a positive integer, got "0"');
    const http = runFlock(['worker', '--queue', 'http://user:hunter22@127.0.0.1:6379', '--hub-url', f.hub.url], { env: { HF_TOKEN: '' } });
    expect(http.code).toBe(1);
    expect(http.stderr).toContain('not a Redis URL: "http://***@127.0.0.1:6379"');
    expect(http.stderr).toContain('HINT: pass redis://HOST:PORT');
    expect(http.stderr).not.toContain('hunter22');
  });
});
