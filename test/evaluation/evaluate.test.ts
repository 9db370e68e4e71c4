/**
 * The evaluation layer on its own, without a hub or a chain: a competition built in memory, the
 * base model and a dataset file evaluated with progress through callbacks, and data that cannot be
 * trained on refused with a reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateDataset } from '../../src/dataset/index.js';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.js';
import { loadCheckpoint } from '../../src/engine/checkpoint.js';
import { writePresetCheckpoint } from '../../src/engine/presets.js';
import type { TrainProgress } from '../../src/engine/train.js';
import type { EvalProgress } from '../../src/engine/evaluate.js';
import { competitionKey, type LoadedCompetition } from '../../src/evaluation/competition.js';
import { DatasetEvaluationError, evaluateDataset } from '../../src/evaluation/evaluate.js';
import { taskRows, toJsonl } from '../../src/localnet/tasks.js';
import { deriveSeed, parseCompetition } from '../../src/protocol/index.js';

const REV = 'c'.repeat(40);
const backend = new CpuBackend({ threads: 1 });
let dir: string;
let competition: LoadedCompetition;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flock-evaluation-'));
  writePresetCheckpoint(join(dir, 'model'), 'tiny', { seed: 3 });
  writeFileSync(join(dir, 'eval.jsonl'), toJsonl(taskRows(6, 900)));
  const evalSet = await validateDataset(join(dir, 'eval.jsonl'));
  const parsed = parseCompetition({
    protocol: 1, id: '1', baseModel: { repo: 'flock/tiny', revision: 'b'.repeat(40) },
    recipe: { epochs: 1, gradientAccumulation: 2, warmupSteps: 1, maxSeqLen: 96, optimizer: { lr: 1e-2 } },
  });
  if (!parsed.ok) throw new Error(parsed.reason);
  competition = {
    pointer: { competitionId: '1', repoId: 'flock/competition-1', revision: REV }, key: competitionKey('1', REV), competition: parsed.value,
    seed: deriveSeed('1', REV).u32, evalRows: evalSet.rows, evalFingerprints: evalSet.fingerprints, evalSetHash: evalSet.identity,
    checkpoint: await loadCheckpoint(join(dir, 'model')), modelDir: join(dir, 'model'),
  };
});
afterAll(() => {
  backend.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('evaluateDataset', () => {
  it('trains on a dataset file and evaluates, reporting every optimizer step and eval example through callbacks', async () => {
    writeFileSync(join(dir, 'data.jsonl'), toJsonl(taskRows(8, 5)));
    const steps: TrainProgress[] = [], evals: EvalProgress[] = [];
    const r = await evaluateDataset({
      competition, backend, datasetPath: join(dir, 'data.jsonl'), identity: 'd1', onTrainStep: (s) => steps.push(s), onEvalProgress: (e) => evals.push(e),
    });
    expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4]); // 8 rows, 2 per step, 1 epoch
    expect(steps.every((s) => s.totalSteps === 4)).toBe(true);
    expect(evals.map((e) => e.done)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.losses).toHaveLength(6);
    expect(r.receipt).toMatchObject({ datasetHash: 'd1', seed: competition.seed, droppedContaminatedRows: 0, compute: expect.stringContaining('cpu') });

    // the base model: no training, the same evaluation
    const base = await evaluateDataset({ competition, backend, datasetPath: null, identity: null, onTrainStep: () => { throw new Error('no training'); } });
    expect(base.receipt.datasetHash).toBeNull();
    expect(base.evalLoss).toBeGreaterThan(r.evalLoss); // training on the task helps
  });

  it('drops rows that match evaluation examples, and refuses a dataset with nothing left to train on', async () => {
    writeFileSync(join(dir, 'mixed.jsonl'), toJsonl([...taskRows(6, 5), ...taskRows(2, 900)]));
    const mixed = await evaluateDataset({ competition, backend, datasetPath: join(dir, 'mixed.jsonl'), identity: 'd2' });
    expect(mixed.receipt.droppedContaminatedRows).toBe(2);
    writeFileSync(join(dir, 'all-eval.jsonl'), toJsonl(taskRows(6, 900)));
    await expect(evaluateDataset({ competition, backend, datasetPath: join(dir, 'all-eval.jsonl'), identity: 'd3' }))
      .rejects.toThrow(DatasetEvaluationError);
  });
});
