/**
 * Evaluation losses against an independent implementation: test/engine/oracle/llama_torch.py, a
 * plain-PyTorch Llama + LoRA computed in float64, on a checkpoint written to disk (bf16, tied
 * embeddings, GQA, llama3 RoPE scaling) — base model and a trained PEFT adapter. Agreement to 1e-4
 * relative per example. Needs python3 with torch (Debian: python3-torch; scripts/test.sh installs it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.js';
import { loadCheckpoint, type Checkpoint } from '../../src/engine/checkpoint.js';
import { saveAdapter } from '../../src/engine/adapter.js';
import { writePresetCheckpoint } from '../../src/engine/presets.js';
import { encodeChatRows, type ChatRow } from '../../src/engine/template.js';
import { runEvaluation } from '../../src/engine/run.js';
import { evaluate } from '../../src/engine/evaluate.js';
import { LlamaModel } from '../../src/engine/llama.js';
import { recipeSchema } from '../../src/protocol/recipe.js';
import { Stream } from '../../src/engine/prng.js';

/** Debian's python3 (where python3-torch lives) ahead of any other python3 on PATH; FLOCK_PYTHON overrides. */
const PYTHON = process.env['FLOCK_PYTHON'] ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const ORACLE = fileURLToPath(new URL('./oracle/llama_torch.py', import.meta.url));
const be = new CpuBackend({ threads: 2 });
let dir: string;
let ckpt: Checkpoint;

function rows(n: number, seed: number): ChatRow[] {
  const s = new Stream(seed);
  const text = (k: number) => Array.from({ length: k }, () => 'abcdefgh ij.,?'[s.nextInt(14)]).join('');
  return Array.from({ length: n }, (_, i) => ({
    system: i % 2 ? 'be brief' : null,
    conversations: [{ role: 'user' as const, content: text(10 + s.nextInt(30)) }, { role: 'assistant' as const, content: text(5 + s.nextInt(60)) }],
  }));
}

function oracle(request: unknown): number[] {
  const path = join(dir, `request-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(request));
  const r = spawnSync(PYTHON, [ORACLE, 'eval', join(dir, 'model'), path], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) {
    throw new Error(`the PyTorch oracle failed (exit ${r.status}): ${r.stderr || r.error}\n---> HINT: install python3-torch (apt-get install python3-torch), as scripts/test.sh does`);
  }
  return (JSON.parse(r.stdout) as { perExample: number[] }).perExample;
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
