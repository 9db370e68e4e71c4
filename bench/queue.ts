/**
 * Evaluation queue benchmark: one validator round over N newly committed datasets (default 32,
 * the validator bench's) with the tiny model, run three ways side by side —
 *   in-process   the validator trains itself on one engine thread (no Redis)
 *   1 worker     `--queue`: one `flock worker` child process, one engine thread
 *   2 workers    `--queue`: two `flock worker` child processes, one engine thread each
 * Each way starts from empty validator state, a queue of its own and empty worker caches (workers
 * download the base model and the datasets from the hub themselves). Prints the round's wall time
 * and speed-up, and the queue's own cost per job from BullMQ's timestamps and the validator's store:
 * the gap a worker waits between finishing a job and starting the next while jobs are queued, the
 * worker's time outside the engine (download, model load, tokenizing), and the time from a worker
 * finishing a job to the validator recording its result.
 *
 * The devnet and the hub run in this process (beside the validator); workers are separate
 * processes, as on other machines. Needs the built CLI (`npm run build`) and `redis-server`.
 *
 *   npx tsx bench/queue.ts [datasets=32] [rows=32]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { FingerprintIndex } from '../src/dataset/index.js';
import { CpuBackend } from '../src/engine/backend/cpu/cpu-backend.js';
import { jobIdentity, type EvaluationJob } from '../src/evaluation/jobs.js';
import { evaluationQueueName, EvaluationQueue } from '../src/evaluation/queue.js';
import { formatCommitment } from '../src/protocol/index.js';
import { silentLogger } from '../src/util/log.js';
import { startRedisServer } from '../src/util/redis-server.js';
import { competitionKey, openStore } from '../src/validator/store.js';
import { Validator } from '../src/validator/validator.js';
import { NETUID, startSubnet, taskRows, toJsonl, type TestSubnet } from '../test/validator/subnet.js';

const N = Number(process.argv[2] ?? 32);
const ROWS = Number(process.argv[3] ?? 32);
const FLOCK_BIN = fileURLToPath(new URL('../bin/flock.js', import.meta.url));

const median = (xs: number[]) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const f2 = (x: number) => x.toFixed(2);
const ms = (x: number) => `${x.toFixed(0)} ms`;

interface WorkerChild { name: string; child: ChildProcess; output: () => string }

function startWorker(name: string, url: string, queueName: string, hubUrl: string, root: string): Promise<WorkerChild> {
  const child = spawn(process.execPath, [
    FLOCK_BIN, 'worker', '--queue', url, '--queue-name', queueName, '--hub-url', hubUrl, '--backend', 'cpu', '--threads', '1',
    '--cache-dir', join(root, `cache-${queueName}-${name}`), '--name', name,
  ], { env: { ...process.env, NO_COLOR: '1', HF_TOKEN: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
  return new Promise((ok, fail) => {
    const check = setInterval(() => {
      if (/compute flock-engine/.test(output)) {
        clearInterval(check);
        ok({ name, child, output: () => output });
      } else if (child.exitCode !== null) {
        clearInterval(check);
        fail(new Error(`worker ${name} exited: ${output}`));
      }
    }, 20);
  });
}

async function stopWorker(w: WorkerChild): Promise<void> {
  if (w.child.exitCode !== null) return;
  const exited = new Promise((r) => w.child.once('exit', r));
  w.child.kill('SIGTERM');
  await exited;
}

interface Outcome {
  label: string;
  wall: number;
  evaluations: number;
  engineSeconds: number;
  /** Per job (queue runs only). */
  gapsMs?: number[];
  outsideEngineMs?: number[];
  recordMs?: number[];
  perWorker?: Map<string, number>;
}

async function runRound(net: TestSubnet, label: string, workers: number, redisUrl: string): Promise<Outcome> {
  const dir = join(net.root, `state-${workers}`);
  const store = openStore(join(dir, 'validator.sqlite'));
  const index = FingerprintIndex.open(join(dir, 'fingerprints.sqlite'));
  const queueName = `bench-${workers}`;
  const children: WorkerChild[] = [];
  let backend: CpuBackend | undefined;
  let queue: EvaluationQueue | undefined;
  try {
    if (workers === 0) backend = new CpuBackend({ threads: 1 });
    else {
      for (let i = 0; i < workers; i++) children.push(await startWorker(`w${i + 1}`, redisUrl, queueName, net.hub.url, net.root));
      queue = await EvaluationQueue.connect({ url: redisUrl, name: queueName, pollMs: 1000 });
    }
    const v = new Validator({
      chain: net.chain, hub: net.validatorHub(join(dir, 'cache')), store, index, netuid: NETUID, signer: net.owner,
      ...(queue ? { queue } : { backend: backend! }), log: silentLogger, blockSeconds: 12,
    });
    await net.dev.produceBlocks(2); // past the weights rate limit of the previous way's transaction
    const t0 = performance.now();
    const pass = await v.runPass();
    const wall = (performance.now() - t0) / 1000;
    if (pass.failed > 0 || pass.weights?.status !== 'set') throw new Error(`${label}: ${pass.failed} failed, weights ${pass.weights?.status}`);
    const out: Outcome = { label, wall, evaluations: v.metrics.evaluationsDone, engineSeconds: v.metrics.evaluationSecondsSum };
    if (queue) {
      // BullMQ's own record of each job: when it was added, taken and finished, by whom
      const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
      const q = new Queue(evaluationQueueName(v.compute, queueName), { connection });
      const jobs = await q.getJobs(['completed'], 0, -1);
      await q.close();
      connection.disconnect();
      const key = competitionKey('1', net.competitionRevision);
      const recordedAt = new Map(store.listEvaluations(key).map((e) => [e.datasetIdentity, e.finishedAt ?? NaN]));
      out.gapsMs = [];
      out.outsideEngineMs = [];
      out.recordMs = [];
      out.perWorker = new Map();
      const byWorker = new Map<string, typeof jobs>();
      for (const j of jobs) {
        const worker = j.processedBy ?? '?';
        byWorker.set(worker, [...(byWorker.get(worker) ?? []), j]);
        const r = j.returnvalue as { seconds: number };
        out.outsideEngineMs.push(j.finishedOn! - j.processedOn! - r.seconds * 1000);
        const identity = jobIdentity(j.data as EvaluationJob); // '@base' is the store's BASE_EVALUATION too
        const recorded = recordedAt.get(identity);
        if (recorded !== undefined && Number.isFinite(recorded)) out.recordMs.push(recorded - j.finishedOn!);
      }
      for (const [worker, list] of byWorker) {
        out.perWorker.set(worker, list.length);
        list.sort((a, b) => a.processedOn! - b.processedOn!);
        for (let i = 1; i < list.length; i++) {
          // only while work was waiting: the next job was in the queue before this worker was free
          if (list[i]!.timestamp <= list[i - 1]!.finishedOn!) out.gapsMs.push(list[i]!.processedOn! - list[i - 1]!.finishedOn!);
        }
      }
    }
    await v.close();
    return out;
  } finally {
    await queue?.close();
    for (const w of children) await stopWorker(w);
    backend?.dispose();
    index.close();
    store.close();
  }
}

async function main(): Promise<void> {
  console.log(`setting up ${N} miners with ${ROWS}-row datasets, the tiny model, a redis-server…`);
  const redis = await startRedisServer();
  const net = await startSubnet({ tempo: 1000, weightsRateLimit: 1, maxAllowedUids: N + 8 });
  try {
    for (let i = 0; i < N; i++) {
      const miner = await net.register(`m${i}`);
      const sha = await net.publish(miner.name, toJsonl(taskRows(ROWS, 1000 + i)));
      await net.commit(miner, formatCommitment({ repoId: `miners/${miner.name}`, competitionId: '1', revision: sha }));
    }
    const results: Outcome[] = [];
    for (const [label, workers] of [['in-process, 1 thread', 0], ['queue, 1 worker', 1], ['queue, 2 workers', 2]] as const) {
      const r = await runRound(net, label, workers, redis.url);
      results.push(r);
      console.log(`${label}: ${f2(r.wall)} s for ${r.evaluations} evaluations`);
    }
    const base = results[0]!.wall;
    const one = results[1]!.wall;
    console.log('');
    console.log('| way | round wall | speed-up vs in-process | vs 1 worker | evaluations | engine seconds (sum) | jobs per worker |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | --- |');
    for (const r of results) {
      const per = r.perWorker ? [...r.perWorker].map(([w, n]) => `${w} ${n}`).join(', ') : '-';
      console.log(`| ${r.label} | ${f2(r.wall)} s | ${f2(base / r.wall)}× | ${r.perWorker ? `${f2(one / r.wall)}×` : '-'} | ${r.evaluations} | ${f2(r.engineSeconds)} s | ${per} |`);
    }
    console.log('');
    console.log('queue cost per job (medians; p90 in brackets):');
    const p90 = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return s[Math.min(s.length - 1, Math.floor(0.9 * s.length))] ?? NaN;
    };
    for (const r of results.slice(1)) {
      console.log(`  ${r.label}: worker idle between jobs while work waits ${ms(median(r.gapsMs!))} (${ms(p90(r.gapsMs!))}), `
        + `worker outside the engine (download, load, tokenize) ${ms(median(r.outsideEngineMs!))} (${ms(p90(r.outsideEngineMs!))}), `
        + `finished → recorded by the validator ${ms(median(r.recordMs!))} (${ms(p90(r.recordMs!))})`);
    }
    console.log(`\nthe in-process round spends ${f2(results[0]!.engineSeconds)} s of its ${f2(base)} s inside the engine; `
      + `the queue adds ${f2(one - base)} s over ${results[1]!.evaluations} jobs with one worker (${ms(((one - base) * 1000) / results[1]!.evaluations)} per job)`);
  } finally {
    await net.close();
    await redis.stop();
  }
}

await main();
