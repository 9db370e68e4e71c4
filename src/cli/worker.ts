/**
 * `flock worker`: run a validator's evaluation jobs on this machine — take them from the queue of
 * this backend's compute identity on Redis, download what they name from the hub, train and
 * evaluate, return the results (src/evaluation/queue.ts). One worker per GPU; no wallet needed.
 * Ctrl-C stops after the job in progress; a second Ctrl-C, or SIGTERM, gives the job back to the
 * queue at the next optimizer step for another worker. Trained adapters are kept on disk (beside the
 * Hugging Face cache unless `--adapter-dir`), so a dataset evaluated again on another evaluation set
 * is not trained again.
 */
import { Command, Option } from 'commander';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { BACKEND_KINDS, createBackend, parseBackendKind, PRECISIONS } from '../engine/backend/select.js';
import { AdapterCache } from '../evaluation/adapter-cache.js';
import { DEFAULT_LOCK_MS, DEFAULT_QUEUE_NAME, DEFAULT_STALLED_INTERVAL_MS, startEvaluationWorker } from '../evaluation/queue.js';
import { hubClientFromFlags } from './clients.js';
import { markLongRunning, type CommandContext } from './context.js';
import { addHubOptions, expandHome, flag, hubSchema, oneOf, parsePositiveInt, positiveInt, text } from './options.js';
import { action } from './run.js';

const workerSchema = z.object({
  ...hubSchema.shape,
  queue: text, queueName: text, name: text.optional(), backend: oneOf(BACKEND_KINDS), precision: oneOf(PRECISIONS).optional(), threads: positiveInt.optional(),
  concurrency: positiveInt, cacheDir: text.optional(), adapterDir: text.optional(), adapterCache: flag, progressEvery: positiveInt, lockMs: positiveInt, stalledIntervalMs: positiveInt,
});

async function workerCommand(ctx: CommandContext<z.output<typeof workerSchema>>): Promise<number> {
  const o = ctx.opts;
  const log = ctx.log;
  const hub = await hubClientFromFlags(ctx, { cacheDir: o.cacheDir ? expandHome(o.cacheDir) : undefined });
  const backend = await createBackend(o.backend, log, { threads: o.threads, precision: o.precision });
  const adapters = o.adapterCache
    ? new AdapterCache({ dir: o.adapterDir ? expandHome(o.adapterDir) : defaultAdapterDir(hub.cache.root), log })
    : undefined;
  if (adapters) log.info(`trained adapters are kept in ${adapters.dir}`);
  let signals = 0;
  let stop: ((release: boolean) => void) | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    const release = signal === 'SIGTERM' || signals > 1;
    if (signals > 2) process.exit(signal === 'SIGTERM' ? 143 : 130);
    log.warning(release
      ? `${signal}: giving the job in progress back to the queue and stopping (signal again to force)`
      : `${signal}: stopping after the job in progress (Ctrl-C again to give it back to the queue now)`);
    stop?.(release);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const worker = await startEvaluationWorker({
      url: o.queue, name: o.queueName, workerName: o.name, backend, hub, log, concurrency: o.concurrency,
      progressEvery: o.progressEvery, adapters, lockMs: o.lockMs, stalledIntervalMs: o.stalledIntervalMs,
    });
    const stopped = new Promise<void>((done) => {
      stop = (release) => { void worker.close({ release }).then(done, done); };
    });
    if (signals > 0) stop!(signals > 1); // a signal came while starting
    await stopped;
    const s = worker.stats();
    log.info(`worker ${worker.name} stopped`, { completed: s.completed, failed: s.failed });
    return 0;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    backend.dispose();
  }
}

/** The adapter cache's default folder: beside the Hugging Face cache (`~/.cache/huggingface/flock-adapters`). */
export function defaultAdapterDir(hubCacheRoot: string): string {
  return join(dirname(hubCacheRoot), 'flock-adapters');
}

/** Register `flock worker`. */
export function register(program: Command): void {
  const cmd = program
    .command('worker')
    .description("run a validator's evaluation jobs from its queue (Redis) on this machine's GPU or CPU")
    .addOption(new Option('--queue <url>', 'the validator\'s Redis: redis://HOST:PORT (rediss:// for TLS, redis://:PASSWORD@HOST:PORT)').env('FLOCK_QUEUE').makeOptionMandatory())
    .addOption(new Option('--queue-name <name>', 'base name of the queues, as the validator\'s').default(DEFAULT_QUEUE_NAME))
    .addOption(new Option('--name <name>', 'this worker\'s name in jobs and metrics (default <hostname>-<pid>)'))
    .addOption(new Option('--backend <kind>', 'compute backend: cpu | webgpu | auto').default('cpu').argParser((v) => parseBackendKind(v)))
    .addOption(new Option('--precision <p>', 'WebGPU compute precision: f32, or f16 (f16 matrix-product inputs, f32 accumulation; needs shader-f16)').choices([...PRECISIONS]))
    .addOption(new Option('--threads <n>', 'CPU backend threads (default: all cores)').argParser(parsePositiveInt('--threads')))
    .addOption(new Option('--concurrency <n>', 'jobs at once (one per GPU is the rule)').default(1).argParser(parsePositiveInt('--concurrency')))
    .addOption(new Option('--cache-dir <dir>', 'Hugging Face cache folder (default $HF_HUB_CACHE or ~/.cache/huggingface/hub)'))
    .addOption(new Option('--adapter-dir <dir>', 'folder of trained adapters kept for datasets evaluated again (default flock-adapters beside the Hugging Face cache)'))
    .addOption(new Option('--no-adapter-cache', 'train every job\'s adapter, keeping none'))
    .addOption(new Option('--progress-every <steps>', 'log progress every this many optimizer steps').default(25).argParser(parsePositiveInt('--progress-every')))
    .addOption(new Option('--lock-ms <ms>', 'lock on a running job, renewed while it runs; one optimizer step must take less').default(DEFAULT_LOCK_MS).argParser(parsePositiveInt('--lock-ms')))
    .addOption(new Option('--stalled-interval-ms <ms>', 'how often to look for jobs whose worker died').default(DEFAULT_STALLED_INTERVAL_MS).argParser(parsePositiveInt('--stalled-interval-ms')));
  addHubOptions(cmd);
  markLongRunning(cmd);
  cmd.action(action(workerSchema, workerCommand));
}
