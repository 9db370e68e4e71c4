/**
 * `JobRunner` against a local hub: a worker given an adapter cache trains a dataset once, and a
 * later job on the same training (here: a worker restarted on the same cache) evaluates the cached
 * adapter instead, with the same losses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateDataset } from '../../src/dataset/index.js';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.js';
import { computeIdentity } from '../../src/engine/run.js';
import { AdapterCache } from '../../src/evaluation/adapter-cache.js';
import type { EvaluationJob } from '../../src/evaluation/jobs.js';
import { JobRunner, type JobProgress } from '../../src/evaluation/run-job.js';
import { HubClient, type HubServer } from '../../src/hub/index.js';
import { createLogger } from '../../src/util/log.js';
import { publishDataset, publishTestCompetition, startTestHub, taskRows, toJsonl } from '../validator/subnet.js';

const backend = new CpuBackend({ threads: 1 });
let root: string;
let hub: HubServer;
let job: EvaluationJob;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'flock-run-job-'));
  const started = await startTestHub(root);
  hub = started.hub;
  const revision = await publishTestCompetition(started.ownerHub, root);
  const content = toJsonl(taskRows(12, 17));
  writeFileSync(join(root, 'data.jsonl'), content);
  const { identity } = await validateDataset(join(root, 'data.jsonl'));
  const datasetRevision = await publishDataset(started.minerHub, 'kept', content);
  job = {
    competition: { competitionId: '1', repoId: 'flock/competition-1', revision },
    dataset: { repoId: 'miners/kept', revision: datasetRevision, path: 'data.jsonl', identity },
    compute: computeIdentity(backend).key,
  };
});
afterAll(async () => {
  backend.dispose();
  await hub?.close().catch(() => undefined);
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('JobRunner with an adapter cache', () => {
  it('trains a dataset once; the next job on the same training evaluates the cached adapter', async () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', stream: { write: (line: string) => lines.push(line) } });
    const adapters = new AdapterCache({ dir: join(root, 'adapters') });
    const runner = (name: string) => new JobRunner({
      backend, log, worker: name, adapters, hub: new HubClient({ hubUrl: hub.url, cacheDir: join(root, `cache-${name}`), retries: 0 }),
    });
    const progress: JobProgress[][] = [[], []];
    const first = await runner('first').run(job, { id: 'a'.repeat(64), onProgress: (p) => progress[0]!.push(p) });
    const second = await runner('second').run(job, { id: 'b'.repeat(64), onProgress: (p) => progress[1]!.push(p) });

    expect(progress[0]!.some((p) => p.phase === 'training')).toBe(true);
    expect(progress[1]!.some((p) => p.phase === 'training')).toBe(false);
    expect(first.trainSeconds).toBeGreaterThan(0);
    expect(second.trainSeconds).toBe(0);
    expect(second.losses.every((l, i) => Object.is(l, first.losses[i]))).toBe(true);
    expect(second.losses).toHaveLength(first.losses.length);
    expect(second.receipt.datasetHash).toBe(job.dataset!.identity);
    expect(adapters.entries()).toHaveLength(1);
    expect(lines.filter((l) => l.includes('with its cached adapter'))).toHaveLength(1);
  });
});
