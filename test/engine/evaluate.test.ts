/**
 * Evaluation losses against an independent implementation: test/engine/oracle/llama_torch.py, a
 * plain-PyTorch Llama + LoRA computed in float64, on a checkpoint written to disk (bf16, tied
 * embeddings, GQA, llama3 RoPE scaling) — base model and a trained PEFT adapter. Agreement to 1e-4
 * relative per example. Needs python3 with torch (Debian: python3-torch; scripts/test.sh installs it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.js';
import { loadCheckpoint, type Checkpoint } from '../../src/engine/checkpoint.js';
import { saveAdapter } from '../../src/engine/adapter.js';
import { writePresetCheckpoint } from '../../src/engine/presets.js';
import { encodeChatRows } from '../../src/engine/template.js';
import { runEvaluation } from '../../src/engine/run.js';
import { evaluate } from '../../src/engine/evaluate.js';
import { LlamaModel } from '../../src/engine/llama.js';
import { recipeSchema } from '../../src/protocol/recipe.js';
import { randomChatRows, runOracle } from './oracle/oracle.js';

const be = new CpuBackend({ threads: 2 });
let dir: string;
let ckpt: Checkpoint;

const rows = (n: number, seed: number) => randomChatRows(n, seed, { user: [10, 30], assistant: [5, 60] });

function oracle(request: unknown): number[] {
  return runOracle<{ perExample: number[] }>('eval', join(dir, 'model'), dir, request).perExample;
}

function expectClose(ours: number[], theirs: number[]): void {
  expect(ours).toHaveLength(theirs.length);
  ours.forEach((v, i) => expect(Math.abs(v - theirs[i]!) / Math.abs(theirs[i]!), `example ${i}: ours ${v}, torch ${theirs[i]}`).toBeLessThan(1e-4));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flock-eval-'));
  writePresetCheckpoint(join(dir, 'model'), 'tiny', { seed: 21, dtype: 'BF16' });
  ckpt = await loadCheckpoint(join(dir, 'model'));
});
afterAll(() => {
  be.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('evaluate', () => {
  it('base-model per-example losses agree with the PyTorch oracle to 1e-4 relative', async () => {
    const { examples } = encodeChatRows(rows(6, 1), ckpt.tokenizer, 512);
    const model = LlamaModel.load(be, ckpt.config, ckpt.weights);
    const ours = await evaluate(model, examples);
    model.free();
    const theirs = oracle({ sequences: examples.map((e) => ({ ids: Array.from(e.ids), labels: Array.from(e.labels) })) });
    expectClose(ours.perExample, theirs);
    expect(ours.evalLoss).toBeCloseTo(theirs.reduce((a, b) => a + b, 0) / theirs.length, 4);
  });

  it('with a trained PEFT adapter on every projection, losses agree with the oracle', async () => {
    const recipe = recipeSchema.parse({
      epochs: 1, gradientAccumulation: 2, warmupSteps: 0, maxSeqLen: 128, optimizer: { lr: 2e-2 },
      lora: { targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] },
    });
    const evalRows = rows(5, 2);
    const trained = await runEvaluation({
      checkpoint: ckpt, recipe, evalRows, evalSetHash: 'e', seed: 3, backend: be,
      trainRows: rows(8, 3).map((row, i) => ({ row, hash: String(i) })),
    });
    saveAdapter(join(dir, 'adapter'), trained.adapter!, ckpt.config);
    const { examples } = encodeChatRows(evalRows, ckpt.tokenizer, 128);
    const theirs = oracle({ adapter: join(dir, 'adapter'), sequences: examples.map((e) => ({ ids: Array.from(e.ids), labels: Array.from(e.labels) })) });
    expectClose(trained.perExample, theirs);
    // the adapter changed the model: the base model's losses differ
    const model = LlamaModel.load(be, ckpt.config, ckpt.weights);
    const base = await evaluate(model, examples);
    model.free();
    expect(Math.abs(base.perExample[0]! - theirs[0]!)).toBeGreaterThan(1e-3);
  });
});
