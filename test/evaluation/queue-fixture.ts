/**
 * What the queue and worker tests share: a real redis-server (persistence off), a local hub with
 * the tiny base model and a competition (test/validator/subnet.ts), datasets published as jobs,
 * and `flock worker` started as a child process from the built CLI.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateDataset } from '../../src/dataset/index.js';
import type { EvaluationJob } from '../../src/evaluation/jobs.js';
import { HubClient, type HubServer } from '../../src/hub/index.js';
import type { CompetitionPointer } from '../../src/protocol/index.js';
import { FLOCK_BIN, REPO_ROOT } from '../helpers/cli.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { publishDataset, publishTestCompetition, startTestHub, toJsonl, type Row } from '../validator/subnet.js';

export interface QueueFixture {
  root: string;
  redis: TestRedis;
  hub: HubServer;
  pointer: CompetitionPointer;
  /** Publish `rows` as `miners/<name>`; the job to train on them, and the local copy of the file. */
  datasetJob(name: string, rows: Row[], compute: string): Promise<{ job: EvaluationJob; file: string }>;
  /** A hub client with a cache of its own, as a worker or a validator has. */
  hubClient(name: string): HubClient;
  close(): Promise<void>;
}

/** The competition of these tests: the tiny recipe, with room for datasets that train for a few seconds. */
const LIMITS = { maxRows: 2000, maxBytes: 1024 * 1024, maxTokensPerRow: 512 };

export async function startQueueFixture(): Promise<QueueFixture> {
  const root = mkdtempSync(join(tmpdir(), 'flock-queue-'));
  const redis = await startRedis();
  const { hub, ownerHub, minerHub } = await startTestHub(root);
  const revision = await publishTestCompetition(ownerHub, root, { competition: { limits: LIMITS } });
  const pointer: CompetitionPointer = { competitionId: '1', repoId: 'flock/competition-1', revision };
  return {
    root, redis, hub, pointer,
    async datasetJob(name, rows, compute) {
      const content = toJsonl(rows);
      const file = join(root, `${name}.jsonl`);
      writeFileSync(file, content);
      const { identity } = await validateDataset(file, { maxRows: LIMITS.maxRows, maxFileBytes: LIMITS.maxBytes });
      const datasetRevision = await publishDataset(minerHub, name, content);
      return { job: { competition: pointer, dataset: { repoId: `miners/${name}`, revision: datasetRevision, path: 'data.jsonl', identity }, compute }, file };
    },
    hubClient(name) {
      return new HubClient({ hubUrl: hub.url, cacheDir: join(root, `cache-${name}`), retries: 0, timeoutMs: 10_000 });
    },
    async close() {
      await redis.kill();
      await hub.close().catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export interface WorkerProcess {
  pid: number;
  /** Everything it logged so far. */
  output(): string;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>;
}

/** `flock worker` from the built CLI, on one CPU thread, against the fixture's Redis and hub. */
export function spawnWorker(f: QueueFixture, name: string, extra: string[] = []): WorkerProcess {
  const args = [
    FLOCK_BIN, 'worker', '--queue', f.redis.url, '--hub-url', f.hub.url, '--backend', 'cpu', '--threads', '1',
    '--cache-dir', join(f.root, `cache-${name}`), '--name', name, ...extra,
  ];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '1', HF_TOKEN: '' } });
  let output = '';
  child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((ok) => {
    child.on('close', (code, signal) => ok({ code, signal, output }));
  });
  return { pid: child.pid!, output: () => output, done };
}

/** Poll `check` every 50 ms until it holds; the error names `what` and what `context` says. */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, context: () => string = () => '', timeoutMs = 60_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}\n${context()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
