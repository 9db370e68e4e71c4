/**
 * Evaluation work spread over many GPUs and machines through BullMQ on Redis: the validator
 * enqueues jobs (`EvaluationQueue`) and `flock worker` processes run them
 * (`startEvaluationWorker`). The only module that imports BullMQ.
 *
 * - **One queue per compute identity** (`evaluationQueueName`): results of two identities are never
 *   mixed in a round, so a job names the identity it must be computed with and sits in that
 *   identity's queue; a worker only sees the jobs it can run, and refuses any other as a safety net.
 *   Workers list their identity in a Redis hash (`computes()`), so a producer can see what compute
 *   there is.
 * - **Idempotent**: the job id is `evaluationJobId(job)`, a hash of what makes the result. Enqueuing
 *   the same work twice is one job and one result; a finished job stays (bounded by age and count)
 *   and answers the next identical request.
 * - **Retries**: a transient fault (hub outage, lost device) fails the attempt and BullMQ retries it
 *   with exponential backoff; a failure no retry can fix (the dataset's fault, a job for another
 *   compute identity) fails at once with a tagged reason (jobs.ts, `parseFailureReason`).
 * - **Stalled jobs**: a worker holds a lock on its job, renewed every `lockMs / 2` while the job runs
 *   (the engine gives the event loop a turn after each optimizer step, so one step must take less
 *   than `lockMs`). A worker killed mid-job stops renewing; every `stalledIntervalMs` the workers
 *   look for jobs whose lock expired and put them back in the queue for another worker, at most
 *   `maxStalledCount` times. Only the worker holding the lock can complete a job: one result.
 * - **Redis restarts**: connections reconnect by themselves (ioredis). Workers wait through an
 *   outage (`maxRetriesPerRequest: null`, as BullMQ requires). The producer fails fast instead
 *   (`QueueUnavailableError`), so a validator loop never hangs on Redis; `waitForResult` keeps
 *   checking through the outage, and enqueues again a job Redis lost (a restart without persistence).
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { Queue, QueueEvents, UnrecoverableError, WaitingError, Worker, type Job, type JobsOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { Backend } from '../engine/backend/backend.js';
import type { ComputeIdentity } from '../engine/run.js';
import type { HubClient } from '../hub/index.js';
import { FlockError, errorMessage } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/log.js';
import { registerSecret } from '../util/redact.js';
import {
  decodeJobResult, encodeJobResult, evaluationJobId, formatFailureReason, parseEvaluationJob, parseFailureReason,
  type EvaluationJob, type EvaluationJobOutcome,
} from './jobs.js';
import type { AdapterCache } from './adapter-cache.js';
import type { EvaluationQueueMetrics, QueueCounts } from './queue-metrics.js';
import { EvaluationJobError, JobReleasedError, JobRunner, type JobProgress } from './run-job.js';

/** Base name of the queues (one per compute identity: `flock-eval-<hash>`). */
export const DEFAULT_QUEUE_NAME = 'flock-eval';
/** Attempts per job (transient faults), and the wait before the second (doubling after each). */
export const DEFAULT_ATTEMPTS = 3;
export const DEFAULT_BACKOFF_MS = 30_000;
/** A job's lock: renewed every half of it while the job runs. */
export const DEFAULT_LOCK_MS = 120_000;
/** How often workers look for jobs whose lock expired (a worker died). */
export const DEFAULT_STALLED_INTERVAL_MS = 30_000;
/** Times a job may be put back after its worker died before it fails. */
export const DEFAULT_MAX_STALLED = 2;
/** Finished jobs kept in Redis (their results answer identical requests). */
const KEEP_COMPLETED = { age: 7 * 24 * 3600, count: 10_000 };
const KEEP_FAILED = { age: 30 * 24 * 3600, count: 10_000 };
const JOB_NAME = 'evaluate';

/**
 * The queue of a compute identity: `<name>-<first 16 hex of SHA-256(compute key)>` (BullMQ queue
 * names cannot hold `:`).
 */
export function evaluationQueueName(compute: string, name = DEFAULT_QUEUE_NAME): string {
  return `${name}-${createHash('sha256').update(compute).digest('hex').slice(0, 16)}`;
}

/** The Redis hash where workers list their compute identity (field) and queue (value). */
function computesKey(name: string): string {
  return `${name}:computes`;
}

/** Redis cannot be reached (the producer does not wait for it). */
export class QueueUnavailableError extends FlockError {
  override name = 'QueueUnavailableError';
}

/** The URL with its password masked, for messages; the password is registered as a secret. */
function describeUrl(url: string): string {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (!parsed || (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')) {
    throw new FlockError(`not a Redis URL: ${JSON.stringify(url.replace(/\/\/[^@/]*@/, '//***@'))}`, { hint: 'pass redis://HOST:PORT (rediss:// for TLS; redis://:PASSWORD@HOST:PORT/DB with a password)' });
  }
  if (parsed.password) {
    registerSecret(decodeURIComponent(parsed.password));
    parsed.password = '***';
  }
  return parsed.toString();
}

type Role = 'producer' | 'worker' | 'blocking';

/**
 * An ioredis client for one role. The producer fails fast while Redis is away (no offline queue);
 * workers and blocking readers wait for it (`maxRetriesPerRequest: null`). Reconnects every
 * 0.25–2 s. `blocking` clients connect lazily: BullMQ duplicates them for its blocking reads.
 */
function redisClient(url: string, role: Role): Redis {
  const options: RedisOptions = {
    retryStrategy: (times) => Math.min(250 * times, 2000),
    ...(role === 'producer' ? { enableOfflineQueue: false, maxRetriesPerRequest: 1 } : { maxRetriesPerRequest: null }),
    ...(role === 'blocking' ? { lazyConnect: true } : {}),
  };
  return new Redis(url, options);
}

/** Logs a lost connection once per outage, and its return. */
class OutageLog {
  private down = false;
  constructor(private readonly log: Logger, private readonly what: string) {}
  error(err: unknown, connected: boolean): void {
    if (connected) {
      this.log.warning(`${this.what}: ${errorMessage(err)}`);
    } else if (!this.down) {
      this.down = true;
      this.log.warning(`${this.what}: Redis unreachable (${errorMessage(err)}); retrying`);
    }
  }
  ready(): void {
    if (!this.down) return;
    this.down = false;
    this.log.info(`${this.what}: connected to Redis again`);
  }
}

function readyWithin(redis: Redis, ms: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((done) => {
    const timer = setTimeout(() => finish(false), ms);
    const onReady = () => finish(true);
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      done(ok);
    };
    redis.on('ready', onReady);
  });
}

/** An error of the connection rather than of the command (it can come before ioredis notices the connection is gone). */
function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)$/.test(code) || err.name === 'MaxRetriesPerRequestError' ||
    /Stream isn't writeable|Connection is closed/.test(err.message);
}

async function quit(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  await redis.quit().catch(() => redis.disconnect());
}

// ── the producer ─────────────────────────────────────────────────────────────────────────────

export interface EvaluationQueueOptions {
  /** `redis://HOST:PORT` (`rediss://` for TLS, `redis://:PASSWORD@HOST:PORT/DB`). */
  url: string;
  /** Base name of the queues (default `flock-eval`); workers must use the same. */
  name?: string;
  log?: Logger;
  /** Attempts per job (default 3) and the wait before the second (default 30 s, doubling). */
  attempts?: number;
  backoffMs?: number;
  /** `waitForResult` checks a job at least this often (default 5 s); events wake it sooner. */
  pollMs?: number;
  /** Give up connecting after this long (default 10 s). */
  connectTimeoutMs?: number;
}

/** Where a job is: settled (done or failed), still in the queue, or not in Redis at all. */
export type EvaluationJobStatus =
  | EvaluationJobOutcome
  | { status: 'pending'; state: string; progress: unknown; attemptsMade: number }
  | { status: 'missing' };

/** A compute identity workers have announced, its queue and the workers connected to it now. */
export interface ComputeQueue {
  compute: string;
  queue: string;
  workers: number;
}

interface QueueHandle {
  queue: Queue;
  events?: QueueEvents;
}

/**
 * The producer side: enqueue evaluation jobs and read their outcomes.
 *
 * @example
 * const queue = await EvaluationQueue.connect({ url: 'redis://10.0.0.5:6379', log });
 * const job = { competition: pointer, dataset: { repoId, revision, path: 'data.jsonl', identity }, compute };
 * await queue.enqueue(job);                      // the same job twice is one job
 * const outcome = await queue.waitForResult(job); // { status: 'done', result } or { status: 'failed', failure }
 */
export class EvaluationQueue {
  private readonly queues = new Map<string, QueueHandle>();
  private readonly wakers = new Map<string, Set<() => void>>();
  private readonly seconds = { sum: 0, count: 0 };
  private readonly outage: OutageLog;
  private closed = false;

  private constructor(
    private readonly redis: Redis,
    private readonly blocking: Redis,
    private readonly options: Required<Omit<EvaluationQueueOptions, 'url' | 'log'>> & { log: Logger; shownUrl: string },
  ) {
    this.outage = new OutageLog(options.log, `evaluation queue at ${options.shownUrl}`);
    redis.on('error', (err: unknown) => this.outage.error(err, redis.status === 'ready'));
    redis.on('ready', () => {
      this.outage.ready();
      for (const id of [...this.wakers.keys()]) this.wake(id); // re-check what is waited for
    });
  }

  /** Connect to Redis; throws `QueueUnavailableError` when it cannot be reached within `connectTimeoutMs`. */
  static async connect(o: EvaluationQueueOptions): Promise<EvaluationQueue> {
    const shownUrl = describeUrl(o.url);
    const redis = redisClient(o.url, 'producer');
    let lastError: unknown;
    redis.on('error', (err: unknown) => { lastError = err; });
    if (!(await readyWithin(redis, o.connectTimeoutMs ?? 10_000))) {
      redis.disconnect();
      throw new QueueUnavailableError(`cannot reach Redis at ${shownUrl}${lastError ? `: ${errorMessage(lastError)}` : ''}`, {
        hint: 'start redis-server there (port 6379 by default) and check that this machine may connect to it',
      });
    }
    redis.removeAllListeners('error');
    return new EvaluationQueue(redis, redisClient(o.url, 'blocking'), {
      name: o.name ?? DEFAULT_QUEUE_NAME, log: o.log ?? silentLogger, shownUrl,
      attempts: o.attempts ?? DEFAULT_ATTEMPTS, backoffMs: o.backoffMs ?? DEFAULT_BACKOFF_MS,
      pollMs: o.pollMs ?? 5000, connectTimeoutMs: o.connectTimeoutMs ?? 10_000,
    });
  }

  /** The queue name of a compute identity. */
  queueName(compute: string): string {
    return evaluationQueueName(compute, this.options.name);
  }

  /**
   * Put `job` in its compute identity's queue; returns its id. A job already there (waiting,
   * running, done or failed) is left as it is: see `retry` for a failed one.
   * `priority`: 1 (first) … 2 097 152; jobs without one run before any prioritized job.
   */
  async enqueue(job: EvaluationJob, options: { priority?: number } = {}): Promise<string> {
    const id = evaluationJobId(job);
    const { queue } = this.handle(job.compute);
    const opts: JobsOptions = {
      jobId: id, attempts: this.options.attempts, backoff: { type: 'exponential', delay: this.options.backoffMs },
      removeOnComplete: KEEP_COMPLETED, removeOnFail: KEEP_FAILED,
      ...(options.priority ? { priority: options.priority } : {}),
    };
    await this.call(() => queue.add(JOB_NAME, job, opts));
    return id;
  }

  /** Put a failed job back in the queue with all its attempts (or enqueue it when Redis lost it). */
  async retry(job: EvaluationJob): Promise<string> {
    const id = evaluationJobId(job);
    const { queue } = this.handle(job.compute);
    const found = await this.call(() => queue.getJob(id));
    if (!found) return this.enqueue(job);
    if (await this.call(() => found.isFailed())) await this.call(() => found.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true }));
    return id;
  }

  /** Where `job` is now (one look; throws `QueueUnavailableError` while Redis is away). */
  async status(job: EvaluationJob): Promise<EvaluationJobStatus> {
    const id = evaluationJobId(job);
    const { queue } = this.handle(job.compute);
    // the state first, then the job: read the other way round, a job completing in between reads
    // as completed with the return value of before (null)
    const state = await this.call(() => queue.getJobState(id));
    if (state === 'unknown') return { status: 'missing' };
    const found = await this.call(() => queue.getJob(id));
    if (!found) return { status: 'missing' };
    if (state === 'completed') {
      const outcome = decodeJobResult(job, found.returnvalue);
      if (outcome.status !== 'done') return outcome;
      return { ...outcome, timing: { queuedAt: found.timestamp, startedAt: found.processedOn ?? null, finishedAt: found.finishedOn ?? null } };
    }
    if (state === 'failed') return { status: 'failed', failure: parseFailureReason(found.failedReason) };
    return { status: 'pending', state, progress: found.progress, attemptsMade: found.attemptsMade };
  }

  /**
   * Wait until `job` is settled and return its outcome. Enqueues it when it is not in Redis (not
   * yet, or lost in a Redis restart); waits through Redis outages. Completion events wake it at
   * once; it also checks every `pollMs`. Rejects only when `signal` aborts or the queue closes.
   */
  async waitForResult(job: EvaluationJob, options: { signal?: AbortSignal } = {}): Promise<EvaluationJobOutcome> {
    const id = evaluationJobId(job);
    const { signal } = options;
    this.listen(job.compute);
    let known = false; // seen in Redis, or enqueued here
    for (;;) {
      signal?.throwIfAborted();
      if (this.closed) throw new FlockError('the evaluation queue was closed while waiting for a result');
      const woken = this.nextWake(id, signal);
      let s: EvaluationJobStatus | undefined;
      try {
        s = await this.status(job);
        if (s.status === 'missing') {
          await this.enqueue(job);
          if (known) this.options.log.warning(`evaluation job ${id.slice(0, 12)} was no longer in Redis (restarted without its data?): enqueued again`);
        }
        known = true;
      } catch (err) {
        if (!(err instanceof QueueUnavailableError)) {
          woken.cancel();
          throw err;
        }
      }
      if (s?.status === 'done' || s?.status === 'failed') {
        woken.cancel();
        if (s.status === 'done') {
          this.seconds.sum += s.result.seconds;
          this.seconds.count++;
        }
        return s;
      }
      woken.arm();
      await woken.promise;
    }
  }

  /** The compute identities workers have announced, with their queues and live worker counts (most workers first). */
  async computes(): Promise<ComputeQueue[]> {
    const listed = await this.call(() => this.redis.hgetall(computesKey(this.options.name)));
    const out: ComputeQueue[] = [];
    for (const compute of Object.keys(listed)) {
      const { queue } = this.handle(compute);
      out.push({ compute, queue: queue.name, workers: await this.call(() => queue.getWorkersCount()) });
    }
    return out.sort((a, b) => b.workers - a.workers || a.compute.localeCompare(b.compute));
  }

  /** Jobs by state in the queue of `compute`. */
  async counts(compute: string): Promise<QueueCounts> {
    const { queue } = this.handle(compute);
    const c = await this.call(() => queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'));
    return {
      waiting: c['waiting'] ?? 0, active: c['active'] ?? 0, delayed: c['delayed'] ?? 0, prioritized: c['prioritized'] ?? 0,
      completed: c['completed'] ?? 0, failed: c['failed'] ?? 0,
    };
  }

  /**
   * What `/metrics` shows (`renderQueueMetrics`): queue depth by state and workers, per compute
   * identity (the announced ones and those this producer used), jobs in flight per worker, and
   * the seconds of the results `waitForResult` returned.
   */
  async metrics(): Promise<EvaluationQueueMetrics> {
    const announced = Object.keys(await this.call(() => this.redis.hgetall(computesKey(this.options.name))));
    const computes = [...new Set([...announced, ...this.queues.keys()])].sort();
    const queues: EvaluationQueueMetrics['queues'] = [];
    const inFlight = new Map<string, number>();
    for (const compute of computes) {
      const { queue } = this.handle(compute);
      queues.push({ compute, queue: queue.name, workers: await this.call(() => queue.getWorkersCount()), counts: await this.counts(compute) });
      for (const job of await this.call(() => queue.getActive(0, 9999))) {
        const worker = job.processedBy ?? 'unknown';
        inFlight.set(worker, (inFlight.get(worker) ?? 0) + 1);
      }
    }
    return {
      queues,
      inFlight: [...inFlight].sort(([a], [b]) => a.localeCompare(b)).map(([worker, jobs]) => ({ worker, jobs })),
      jobSeconds: { ...this.seconds },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.wakers.keys()]) this.wake(id);
    for (const { queue, events } of this.queues.values()) {
      await events?.close().catch(() => undefined);
      await queue.close().catch(() => undefined);
    }
    await quit(this.blocking);
    await quit(this.redis);
  }

  private handle(compute: string): QueueHandle {
    let h = this.queues.get(compute);
    if (!h) {
      const queue = new Queue(this.queueName(compute), { connection: this.redis });
      queue.on('error', (err: unknown) => this.outage.error(err, this.redis.status === 'ready'));
      h = { queue };
      this.queues.set(compute, h);
    }
    return h;
  }

  /** Completion events of a compute identity's queue wake the waiters of those jobs. */
  private listen(compute: string): void {
    const h = this.handle(compute);
    if (h.events) return;
    const events = new QueueEvents(h.queue.name, { connection: this.blocking });
    events.on('error', (err: unknown) => this.outage.error(err, this.redis.status === 'ready'));
    events.on('completed', ({ jobId }) => this.wake(jobId));
    events.on('failed', ({ jobId }) => this.wake(jobId));
    h.events = events;
  }

  private wake(id: string): void {
    const set = this.wakers.get(id);
    if (!set) return;
    this.wakers.delete(id);
    for (const f of set) f();
  }

  /**
   * A promise that resolves at the next event for job `id`, after `pollMs`, or when `signal`
   * aborts. Events are listened for at once; the poll timer starts when `arm` is called;
   * `cancel` resolves it now and forgets it.
   */
  private nextWake(id: string, signal?: AbortSignal): { promise: Promise<void>; arm(): void; cancel(): void } {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => { resolve = r; });
    let timer: NodeJS.Timeout | undefined;
    let finished = false;
    const done = () => {
      finished = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      const set = this.wakers.get(id);
      set?.delete(done);
      if (set?.size === 0) this.wakers.delete(id);
      resolve();
    };
    let set = this.wakers.get(id);
    if (!set) this.wakers.set(id, (set = new Set()));
    set.add(done);
    signal?.addEventListener('abort', done, { once: true });
    return {
      promise,
      arm: () => { if (!finished) timer ??= setTimeout(done, this.options.pollMs); },
      cancel: done,
    };
  }

  /** Run a Redis call; while Redis is away its failure is a `QueueUnavailableError`. */
  private async call<T>(f: () => Promise<T>): Promise<T> {
    if (this.closed) throw new FlockError('the evaluation queue is closed');
    if (this.redis.status !== 'ready') throw this.unavailable();
    try {
      return await f();
    } catch (err) {
      if (this.redis.status !== 'ready' || isConnectionError(err)) throw this.unavailable(err);
      throw err;
    }
  }

  private unavailable(cause?: unknown): QueueUnavailableError {
    return new QueueUnavailableError(`Redis at ${this.options.shownUrl} is unreachable (${this.redis.status})`, {
      hint: 'it reconnects by itself; try again shortly', cause,
    });
  }
}

// ── the worker ───────────────────────────────────────────────────────────────────────────────

export interface EvaluationWorkerOptions {
  /** `redis://HOST:PORT`, as the producer's. */
  url: string;
  backend: Backend;
  /** This worker's own hub client (its cache, its token). */
  hub: HubClient;
  log: Logger;
  /** Base name of the queues (default `flock-eval`), as the producer's. */
  name?: string;
  /** This worker's name in jobs and metrics (default `<hostname>-<pid>`). */
  workerName?: string;
  /** Jobs run at once (default 1: one per GPU is the rule). */
  concurrency?: number;
  /** Lock on a running job (default 120 s); one optimizer step must take less. */
  lockMs?: number;
  /** How often to look for jobs of dead workers (default 30 s). */
  stalledIntervalMs?: number;
  /** Times a job may be put back after its worker died before it fails (default 2). */
  maxStalledCount?: number;
  /** Progress (log line and job progress) every this many optimizer steps (default 25). */
  progressEvery?: number;
  /** Trained adapters kept across jobs (a dataset evaluated again is not trained again). */
  adapters?: AdapterCache;
  onProgress?: (jobId: string, progress: JobProgress) => void;
}

export interface EvaluationWorker {
  readonly name: string;
  readonly compute: ComputeIdentity;
  /** The queue it takes jobs from. */
  readonly queue: string;
  /** Jobs running now, finished (a result), failed (an attempt that failed). */
  stats(): { active: number; completed: number; failed: number };
  /**
   * Stop taking jobs and close. Jobs in progress finish first, or with `release` stop at their
   * next step and go back to the queue at once for another worker.
   */
  close(options?: { release?: boolean }): Promise<void>;
}

/**
 * Start a worker: it takes jobs from its compute identity's queue, runs them on `backend`
 * (`JobRunner`) and returns their results. It connects in the background and waits for Redis
 * when Redis is not there yet (and can be closed meanwhile).
 *
 * @example
 * const worker = await startEvaluationWorker({ url: 'redis://10.0.0.5:6379', backend, hub, log });
 * process.once('SIGINT', () => worker.close());
 */
export async function startEvaluationWorker(o: EvaluationWorkerOptions): Promise<EvaluationWorker> {
  const shownUrl = describeUrl(o.url);
  const log = o.log;
  const workerName = (o.workerName ?? `${hostname()}-${process.pid}`).replace(/[^A-Za-z0-9._-]/g, '-');
  const runner = new JobRunner({ backend: o.backend, hub: o.hub, log, worker: workerName, progressEvery: o.progressEvery, adapters: o.adapters });
  const compute = runner.compute;
  const base = o.name ?? DEFAULT_QUEUE_NAME;
  const queueName = evaluationQueueName(compute.key, base);
  const stats = { active: 0, completed: 0, failed: 0 };
  const redis = redisClient(o.url, 'worker');
  const outage = new OutageLog(log, `worker ${workerName}`);
  const announce = () => {
    redis.hset(computesKey(base), compute.key, JSON.stringify({ queue: queueName })).catch((err: unknown) => log.debug(`announcing the compute identity: ${errorMessage(err)}`));
  };
  redis.on('error', (err: unknown) => outage.error(err, redis.status === 'ready'));
  redis.on('ready', () => {
    outage.ready();
    announce();
  });

  const processor = async (job: Job, token?: string, signal?: AbortSignal): Promise<unknown> => {
    const id = job.id ?? '';
    stats.active++;
    try {
      const parsed = parseEvaluationJob(job.data);
      if (!parsed.ok) throw new EvaluationJobError('refused', parsed.reason);
      const result = await runner.run(parsed.job, {
        id, signal,
        onProgress: (p) => {
          job.updateProgress(p).catch(() => undefined);
          o.onProgress?.(id, p);
        },
      });
      stats.completed++;
      return encodeJobResult(result);
    } catch (err) {
      if (err instanceof JobReleasedError) {
        if (token) await job.moveToWait(token);
        log.warning(`job ${id.slice(0, 12)} released: back in the queue for another worker`);
        throw new WaitingError();
      }
      stats.failed++;
      if (err instanceof EvaluationJobError) {
        log.warning(`job ${id.slice(0, 12)} failed for good (${err.kind}): ${err.message}`);
        throw new UnrecoverableError(formatFailureReason(err.kind, err.message));
      }
      const attempts = job.opts.attempts ?? 1;
      log.error(`job ${id.slice(0, 12)} failed (attempt ${job.attemptsMade + 1} of ${attempts}${job.attemptsMade + 1 < attempts ? ', will be retried' : ''}): ${errorMessage(err)}`);
      throw new Error(errorMessage(err), { cause: err });
    } finally {
      stats.active--;
    }
  };

  const worker = new Worker(queueName, processor, {
    connection: redis,
    name: workerName,
    concurrency: o.concurrency ?? 1,
    lockDuration: o.lockMs ?? DEFAULT_LOCK_MS,
    stalledInterval: o.stalledIntervalMs ?? DEFAULT_STALLED_INTERVAL_MS,
    maxStalledCount: o.maxStalledCount ?? DEFAULT_MAX_STALLED,
  });
  worker.on('error', (err: unknown) => outage.error(err, redis.status === 'ready'));
  worker.on('stalled', (jobId) => log.warning(`job ${jobId.slice(0, 12)} lost its worker (lock expired): back in the queue`));
  log.info(`worker ${workerName}: compute ${compute.key}`, { queue: queueName, redis: shownUrl, concurrency: o.concurrency ?? 1 });
  let closing: Promise<void> | undefined;
  setTimeout(() => {
    if (redis.status !== 'ready' && !closing) log.warning(`waiting for Redis at ${shownUrl}`);
  }, 5000).unref();

  return {
    name: workerName, compute, queue: queueName,
    stats: () => ({ ...stats }),
    close(options = {}) {
      if (options.release) worker.cancelAllJobs('released');
      closing ??= (async () => {
        // without Redis and without a job there is nothing to hand over: BullMQ's close would wait for Redis
        await worker.close(redis.status !== 'ready' && stats.active === 0);
        await quit(redis);
      })();
      return closing;
    },
  };
}
