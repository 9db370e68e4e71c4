/**
 * The validator with the evaluation queue (`flock validator run --queue`) against a real
 * redis-server, a devnet and a local hub: workers compute exactly what the validator computes in
 * its own process, every result is recorded once, a dataset gone before its worker reads it scores
 * zero with the worker's reason, and a validator stopped with jobs in flight picks up their results
 * after a restart without any being computed again.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FingerprintIndex } from '../../src/dataset/index.js';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.js';
import { EvaluationQueue, startEvaluationWorker, type EvaluationWorker } from '../../src/evaluation/queue.js';
import { formatCommitment } from '../../src/protocol/index.js';
import { createLogger } from '../../src/util/log.js';
import { chooseCompute } from '../../src/validator/remote-evaluations.js';
import { BASE_EVALUATION, competitionKey, openStore, type EvaluationRecord, type ValidatorStore } from '../../src/validator/store.js';
import { Validator } from '../../src/validator/validator.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { NETUID, noiseRows, startSubnet, taskRows, toJsonl, type TestSubnet } from './subnet.js';

/** Warnings and errors of the validators and workers, shown when an assertion about failures fails. */
const logged: string[] = [];
const log = process.env.VLOG ? createLogger({ level: 'debug' }) : createLogger({ level: 'warning', stream: { write: (line: string) => { logged.push(line); } } });

describe('chooseCompute', () => {
  const q = (compute: string, workers: number) => ({ compute, queue: `flock-eval-${compute}`, workers });
  it('keeps the current identity while a worker serves it', () => {
    expect(chooseCompute('a', [q('b', 5), q('a', 1)])).toBe('a');
  });
  it('moves to the identity most workers serve when the current one has none', () => {
    expect(chooseCompute('a', [q('a', 0), q('b', 1), q('c', 3)])).toBe('c');
    expect(chooseCompute(null, [q('b', 2), q('c', 2)])).toBe('b'); // a tie goes by name, so every validator picks the same
  });
  it('keeps the current identity, or takes an announced one, while no worker is connected', () => {
    expect(chooseCompute('a', [q('b', 0)])).toBe('a');
    expect(chooseCompute(null, [q('b', 0)])).toBe('b');
    expect(chooseCompute(null, [])).toBeNull();
  });
});

describe('validator with the evaluation queue', () => {
  let net: TestSubnet;
  let redis: TestRedis;
  const backends: CpuBackend[] = [];
  const closers: Array<() => Promise<unknown> | unknown> = [];
  let key = '';

  function backend(): CpuBackend {
    const b = new CpuBackend({ threads: 1 });
    backends.push(b);
    return b;
  }

  function state(name: string): { store: ValidatorStore; index: FingerprintIndex; dir: string } {
    const dir = join(net.root, name);
    const store = openStore(join(dir, 'validator.sqlite'));
    const index = FingerprintIndex.open(join(dir, 'fingerprints.sqlite'));
    closers.push(() => { index.close(); store.close(); });
    return { store, index, dir };
  }

  function validator(s: { store: ValidatorStore; index: FingerprintIndex; dir: string }, evaluator: { backend: CpuBackend } | { queue: EvaluationQueue }): Validator {
    const v = new Validator({
      chain: net.chain, hub: net.validatorHub(join(s.dir, 'cache')), store: s.store, index: s.index, netuid: NETUID, signer: net.owner, ...evaluator,
      log, blockSeconds: 12, retryBaseMs: 50, maxBackoffMs: 200, pollMs: 10,
    });
    closers.push(() => v.close());
    return v;
  }

  async function queue(name?: string): Promise<EvaluationQueue> {
    const q = await EvaluationQueue.connect({ url: redis.url, log, pollMs: 100, ...(name ? { name } : {}) });
    closers.push(() => q.close());
    return q;
  }

  async function worker(name: string, queueName?: string): Promise<EvaluationWorker> {
    const w = await startEvaluationWorker({
      url: redis.url, backend: backend(), hub: net.validatorHub(join(net.root, `cache-${name}`)), log, workerName: name, ...(queueName ? { name: queueName } : {}),
    });
    closers.push(() => w.close({ release: true }));
    return w;
  }

  const results = (store: ValidatorStore) => new Map(store.listEvaluations(key).map((e) => [e.datasetIdentity, e]));
  const lossesOf = (e: EvaluationRecord | undefined) => Array.from(e?.losses ?? []);

  beforeAll(async () => {
    redis = await startRedis();
    net = await startSubnet({ tempo: 1000, weightsRateLimit: 1 });
    key = competitionKey('1', net.competitionRevision);
    const plan: Array<[string, string]> = [
      ['good', toJsonl(taskRows(24, 7))],
      ['good2', toJsonl(taskRows(24, 99))],
      ['noise', toJsonl(noiseRows(24, 8))],
    ];
    for (const [name, content] of plan) {
      const miner = await net.register(name);
      await net.commit(miner, formatCommitment({ repoId: `miners/${name}`, competitionId: '1', revision: await net.publish(name, content) }));
    }
  });
  afterAll(async () => {
    for (const close of closers.reverse()) await Promise.resolve().then(close).catch(() => undefined);
    for (const b of backends) b.dispose();
    await net?.close();
    await redis?.kill();
  });

  it('workers compute bit-identical results to the validator\'s own engine, each recorded once', async () => {
    const own = state('own');
    const inProcess = await validator(own, { backend: backend() }).runPass();
    expect(inProcess.evaluated).toBe(4); // base + 3 datasets

    const w1 = await worker('w1');
    const w2 = await worker('w2');
    const remote = state('remote');
    const v = validator(remote, { queue: await queue() });
    await net.dev.produceBlocks(2);
    const pass = await v.runPass();
    expect(pass.evaluated, logged.join('')).toBe(4);
    expect(pass.failed, logged.join('')).toBe(0);
    expect(pass.round).not.toBeNull();

    const expected = results(own.store);
    const got = results(remote.store);
    expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [identity, e] of got) {
      expect(e.status, identity).toBe('done');
      expect(e.attempts, identity).toBe(1);
      expect(e.compute).toBe(v.compute);
      expect(lossesOf(e), identity).toEqual(lossesOf(expected.get(identity))); // bit for bit
      expect(e.evalLoss).toBe(expected.get(identity)!.evalLoss);
    }
    // the work was shared, each job ran once
    expect(w1.stats().completed + w2.stats().completed).toBe(4);
    expect(v.metrics.evaluationsDone).toBe(4);
    // both validators scored the same round
    const weights = (s: ValidatorStore) => s.latestRound()!.perUid.map((u) => [u.uid, u.weight]);
    expect(weights(remote.store)).toEqual(weights(own.store));

    const text = v.metrics.render();
    expect(text).toMatch(new RegExp(`flock_evaluation_queue_jobs\\{compute="${v.compute.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}",state="completed"\\} 4`));
    expect(text).toContain('flock_evaluation_queue_workers');
    expect(text).toMatch(/flock_validator_job_queue_seconds_count 4/);
    expect(text).toMatch(/flock_validator_job_record_seconds_count 4/);
    await w1.close();
    await w2.close();
  });

  it('a dataset gone from the hub before its worker reads it scores zero with the worker\'s reason', async () => {
    const miner = await net.register('gone');
    await net.commit(miner, formatCommitment({ repoId: 'miners/gone', competitionId: '1', revision: await net.publish('gone', toJsonl(taskRows(20, 21))) }));
    const s = state('gone');
    const v = validator(s, { queue: await queue() });
    await v.sync(); // intake reads the dataset while it is there
    await net.minerHub.deleteRepo({ repo: 'miners/gone', type: 'dataset' });
    await worker('w3');
    await net.dev.produceBlocks(2);
    const pass = await v.runPass();
    const gone = s.store.competitionSubmissions('1').find((x) => x.repoId === 'miners/gone')!;
    const e = s.store.getEvaluation(key, gone.datasetIdentity!)!;
    expect(e.status).toBe('failed');
    expect(e.reason).toMatch(/^data\.jsonl at miners\/gone@[0-9a-f]{12} cannot be downloaded: .*not found/);
    expect(pass.failed).toBe(1);
    const zero = s.store.latestRound()!.perUid.find((u) => u.uid === miner.uid)!;
    expect(zero.weight).toBe(0);
    expect(zero.reason).toMatch(/cannot be downloaded/);
  });

  it('a validator stopped with jobs in flight records their results after a restart, none computed twice', async () => {
    // a state folder of its own; the jobs' results are in Redis already (computed for the first
    // test), as they are for jobs workers finish while the validator is down
    const dir = state('restart');
    let v = validator(dir, { queue: await queue() });
    await net.dev.produceBlocks(2);
    const first = v.runPass();
    // stop as soon as the first jobs are in the queue, before any result is recorded
    const started = Date.now();
    while (dir.store.listEvaluations(key, 'running').length === 0 && Date.now() - started < 30_000) await new Promise((r) => setTimeout(r, 5));
    v.stop();
    await first;
    await v.close();
    const running = dir.store.listEvaluations(key, 'running').length + dir.store.listEvaluations(key, 'queued').length;
    expect(running).toBeGreaterThan(0);
    dir.store.close();

    // restart: the interrupted evaluations go back to the queue and are enqueued again with the same job ids
    const store = openStore(join(dir.dir, 'validator.sqlite'));
    closers.push(() => store.close());
    expect(store.requeuedOnOpen).toBeGreaterThan(0);
    const w = await worker('w4');
    v = validator({ ...dir, store }, { queue: await queue() });
    await net.dev.produceBlocks(2);
    const pass = await v.runPass();
    expect(pass.round).not.toBeNull();
    const done = store.listEvaluations(key, 'done');
    expect(done.map((e) => e.datasetIdentity)).toContain(BASE_EVALUATION);
    // every result was already in Redis (computed for the first test): the new worker computed none
    expect(w.stats().completed).toBe(0);
    expect(v.metrics.evaluationsDone).toBe(done.length);
  });

  it('goes on through a Redis restart that loses the queue, and keeps what it recorded', async () => {
    // queues of their own: nothing computed before, so jobs are in flight when Redis goes
    const w = await worker('w5', 'restart');
    const dir = state('redis-restart');
    const v = validator(dir, { queue: await queue('restart') });
    await net.dev.produceBlocks(2);
    const pass = v.runPass();
    const started = Date.now();
    while (dir.store.listEvaluations(key, 'done').length === 0 && Date.now() - started < 60_000) await new Promise((r) => setTimeout(r, 10));
    const recordedBefore = dir.store.listEvaluations(key, 'done').map((e) => [e.datasetIdentity, e.finishedAt]);
    expect(recordedBefore.length).toBeGreaterThan(0);
    await redis.kill();
    await new Promise((r) => setTimeout(r, 500));
    await redis.start();
    const r = await pass;
    expect(r.round).not.toBeNull();
    expect(dir.store.evaluationCounts(key)).toMatchObject({ queued: 0, running: 0, failed: 0 });
    // what was recorded before the restart is untouched
    for (const [identity, finishedAt] of recordedBefore) expect(dir.store.getEvaluation(key, identity as string)!.finishedAt).toBe(finishedAt);
    expect(w.stats().completed).toBeGreaterThanOrEqual(dir.store.listEvaluations(key, 'done').length - recordedBefore.length);
  });
});
